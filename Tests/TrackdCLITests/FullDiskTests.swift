import Foundation
import TestSupport
import XCTest

/// Outputs that cannot be written (a full disk, /dev/full) end the command with one
/// line naming the output and the system's reason, and leave no half-written file.
final class FullDiskTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private let det = BenchmarkData.valhalf("MOT17-04-FRCNN").appendingPathComponent("det/det.txt").path

    func testExportToAFullStandardOutput() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.jsonl").path
        XCTAssertEqual(try runProcess(trackd, ["track", "--detections", det, "--out", log]).status, 0)
        for format in ["mot", "csv", "tracks"] {
            let result = try runProcess(
                "/bin/sh", ["-c", "exec \"$0\" export \"$1\" --format \(format) > /dev/full", trackd, log])
            XCTAssertEqual(result.status, 1, format)
            XCTAssertEqual(result.stderr, "trackd: error: cannot write standard output: No space left on device\n", format)
        }
    }

    /// A real full file system: a 64 KiB tmpfs (needs root; skipped otherwise).
    func testExportAndResultsOnAFullFileSystem() throws {
        let dir = try makeTemporaryDirectory()
        let small = dir.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: small, withIntermediateDirectories: false)
        guard try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", small.path]).status == 0 else {
            try? FileManager.default.removeItem(at: dir)
            throw XCTSkip("cannot mount a tmpfs here (not root)")
        }
        defer {
            _ = try? runProcess("/bin/umount", [small.path])
            try? FileManager.default.removeItem(at: dir)
        }
        let log = dir.appendingPathComponent("log.jsonl").path
        XCTAssertEqual(try runProcess(trackd, ["track", "--detections", det, "--out", log]).status, 0)

        let out = small.appendingPathComponent("tracks.csv").path
        let export = try runProcess(trackd, ["export", log, "--format", "csv", "--out", out])
        XCTAssertEqual(export.status, 1)
        XCTAssertEqual(export.stderr, "trackd: error: cannot write \(out): No space left on device\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: small.path), [], "no partial file left")

        let results = small.appendingPathComponent("results.txt").path
        let track = try runProcess(trackd, ["track", "--detections", det, "--mot-out", results, "--out", log])
        XCTAssertEqual(track.status, 1)
        XCTAssertEqual(track.stderr, "trackd: error: cannot write \(results): No space left on device\n")
    }
}
