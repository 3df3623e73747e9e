import Foundation
import TestSupport
import XCTest

/// No command writes onto one of its inputs or writes two outputs to one file, however
/// the path is spelled: refused with one line before any work, the inputs untouched.
final class OutputClashTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func contents(_ name: String) -> Data? { FileManager.default.contents(atPath: path(name)) }

    func testOutputsOntoInputsOrOntoEachOtherAreRefused() throws {
        let video = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("h264.mp4")))
        try video.write(to: URL(fileURLWithPath: path("v.mp4")))
        let log = Data("a track log\n".utf8)
        try log.write(to: URL(fileURLWithPath: path("v.jsonl")))
        try FileManager.default.createSymbolicLink(atPath: path("link.mp4"), withDestinationPath: path("v.mp4"))
        XCTAssertEqual(link(path("v.mp4"), path("hard.mp4")), 0)
        let det = "1,-1,10,10,20,40,0.9,-1,-1,-1\n"
        try det.write(toFile: path("det.txt"), atomically: true, encoding: .utf8)

        let cases: [([String], String)] = [
            (["track", path("v.mp4"), "--out", path("v.mp4")], "--out \(path("v.mp4")) is the input video"),
            (["track", path("v.mp4"), "--mot-out", path("v.mp4")], "is the input video"),
            (["track", path("v.mp4"), "--out", path("link.mp4")], "is the input video"),
            (["track", path("v.mp4"), "--out", path("hard.mp4")], "is the input video"),
            (
                ["track", path("v.mp4"), "--out", path("x.jsonl"), "--mot-out", path("x.jsonl")],
                "--out and --mot-out name the same file"
            ),
            (["track", path("v.mp4"), "--out", dir.path + "/./x.jsonl", "--mot-out", path("x.jsonl")], "name the same file"),
            (["track", "--detections", path("det.txt"), "--mot-out", path("det.txt")], "is the --detections file"),
            (["render", path("v.mp4"), path("v.jsonl"), "-o", path("v.mp4")], "-o \(path("v.mp4")) is the video"),
            (["render", path("v.mp4"), path("v.jsonl"), "-o", path("v.jsonl")], "is the log"),
            (["export", path("v.jsonl"), "--format", "csv", "--out", path("v.jsonl")], "--out \(path("v.jsonl")) is the log")
        ]
        for (arguments, message) in cases {
            let started = Date()
            let result = try runProcess(trackd, arguments)
            assertOneLineError(result, contains: message)
            XCTAssertTrue(
                result.stderr.contains("refusing to write over an input") || result.stderr.contains("give each its own"),
                result.stderr)
            XCTAssertLessThan(Date().timeIntervalSince(started), 30, "\(arguments)")
            XCTAssertEqual(contents("v.mp4"), video, "\(arguments): the video is untouched")
            XCTAssertEqual(contents("v.jsonl"), log, "\(arguments): the log is untouched")
            XCTAssertEqual(try String(contentsOfFile: path("det.txt"), encoding: .utf8), det)
            XCTAssertFalse(FileManager.default.fileExists(atPath: path("x.jsonl")), "nothing written: \(arguments)")
        }
        // Distinct files are fine.
        let ok = try runProcess(
            trackd, ["track", "--detections", path("det.txt"), "--out", path("r.jsonl"), "--mot-out", path("r.txt")])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
