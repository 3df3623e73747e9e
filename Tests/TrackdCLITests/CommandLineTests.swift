import Foundation
import TestSupport
import XCTest

/// The command line as the README promises it: every failure is one
/// `trackd: error: ...` line with a non-zero exit; usage only on --help or an empty
/// command line.
final class CommandLineTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }

    func testOptionErrorsAreOneLine() throws {
        let cases: [([String], String)] = [
            (["track", "x.mp4", "--bogus"], "trackd: error: Unknown option '--bogus'"),
            (["track", "x.mp4", "--stride", "abc"], "trackd: error: The value 'abc' is invalid for '--stride <stride>'"),
            (["track"], "trackd: error: give a video or --detections det.txt (one of them)"),
            (["detect"], "trackd: error: Missing expected argument '<input>'"),
            (["export"], "trackd: error: Missing expected argument '<log>'"),
            (["serve", "--config"], "trackd: error: Missing value for '--config <file>'"),
            (["render", "v.mp4"], "trackd: error: Missing expected argument"),
            (["nosuch"], "trackd: error: Unexpected argument 'nosuch'"),
            (["track", "x.mp4", "--conf", "2"], "trackd: error: --conf must be in [0, 1], got 2.0"),
            (["detect", "x.jpg", "--conf=-0.1"], "trackd: error: --conf must be in [0, 1]"),
            (["track", "x.mp4", "--iou", "0"], "trackd: error: --iou must be in (0, 1], got 0.0")
        ]
        for (arguments, start) in cases {
            let result = try runProcess(trackd, arguments)
            XCTAssertEqual(result.status, 64, "\(arguments)")
            XCTAssertTrue(result.stderr.hasPrefix(start), "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "\(arguments): \(result.stderr)")
            XCTAssertEqual(result.stdout.count, 0, "\(arguments)")
        }
    }

    func testUsageOnlyForHelpAndAnEmptyCommandLine() throws {
        for arguments in [[], ["--help"], ["track", "--help"], ["help", "export"]] {
            let result = try runProcess(trackd, arguments)
            XCTAssertEqual(result.status, 0, "\(arguments): \(result.stderr)")
            XCTAssertTrue(result.output.contains("USAGE: trackd"), "\(arguments): \(result.output)")
        }
    }

    func testOutputLostToAFullStandardOutputIsAnError() throws {
        let result = try runProcess("/bin/sh", ["-c", "exec \"$0\" probe \"$1\" > /dev/full", trackd, Fixtures.path("h264.mp4")])
        XCTAssertEqual(result.status, 1)
        XCTAssertEqual(result.stderr, "trackd: error: cannot write standard output: No space left on device\n")
    }
}
