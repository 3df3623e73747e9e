import Foundation
import TestSupport
import XCTest

/// One rule for every output a command writes: a device, FIFO or socket is written in
/// place, never renamed over; a symbolic link is followed and its target replaced;
/// `-` is standard output.
final class OutputKindsTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    private func kind(_ name: String) -> mode_t? {
        var st = stat()
        return lstat(path(name), &st) == 0 ? st.st_mode & S_IFMT : nil
    }

    /// A replayed det.txt, its log, and the video the log can be drawn over.
    private func inputs() throws {
        let det = (1...20).map { "\($0),-1,\(10 + $0),20,30,60,0.9,-1,-1,-1" }.joined(separator: "\n") + "\n"
        try det.write(toFile: path("det.txt"), atomically: true, encoding: .utf8)
        let track = try runProcess(trackd, ["track", "--detections", path("det.txt"), "--out", path("v.jsonl")])
        XCTAssertEqual(track.status, 0, track.stderr)
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: path("v.mp4"))
    }

    /// What each command writes, given where to write it.
    private func commands(_ out: String) -> [(name: String, arguments: [String])] {
        [
            ("export --out", ["export", path("v.jsonl"), "--format", "csv", "--out", out]),
            ("track --mot-out", ["track", "--detections", path("det.txt"), "--mot-out", out]),
            ("track --out", ["track", "--detections", path("det.txt"), "--out", out]),
            ("render -o", ["render", "--force", path("v.mp4"), path("v.jsonl"), "-o", out])
        ]
    }

    func testADeviceIsWrittenInPlaceNeverReplaced() throws {
        try inputs()
        // A stand-in for /dev/null (character device 1:3), made where the test may.
        guard mknod(path("null"), S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 else {
            throw XCTSkip("mknod needs root: \(String(cString: strerror(errno)))")
        }
        for (name, arguments) in commands(path("null")) {
            let result = try runProcess(trackd, arguments)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertEqual(kind("null"), S_IFCHR, "\(name): the device is still a device")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [], "nothing left beside it")
    }

    func testAFIFOsReaderGetsTheOutput() throws {
        try inputs()
        XCTAssertEqual(mkfifo(path("fifo"), 0o600), 0)
        for (name, arguments) in commands(path("fifo")) {
            // What the same command writes to a file, to compare with.
            let file = try runProcess(trackd, arguments.map { $0 == path("fifo") ? path("file") : $0 })
            XCTAssertEqual(file.status, 0, file.stderr)
            let expected = try Data(contentsOf: URL(fileURLWithPath: path("file")))

            nonisolated(unsafe) var received = Data()
            let done = DispatchSemaphore(value: 0)
            Thread.detachNewThread { [fifo = path("fifo")] in
                // Plain reads: the open waits for the writer, the reads for its end.
                let fd = open(fifo, O_RDONLY)
                var buffer = [UInt8](repeating: 0, count: 65536)
                while fd >= 0, case let n = read(fd, &buffer, buffer.count), n > 0 { received.append(contentsOf: buffer[..<n]) }
                close(fd)
                done.signal()
            }
            let result = try runProcess(trackd, arguments)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "\(name): the reader got an end of file")
            XCTAssertEqual(kind("fifo"), S_IFIFO, "\(name): the FIFO is still there")
            if name.hasPrefix("track --out") {
                // The header and end line have the time of the run; the frames compare.
                XCTAssertEqual(
                    String(decoding: received, as: UTF8.self).split(separator: "\n").dropFirst().dropLast(),
                    String(decoding: expected, as: UTF8.self).split(separator: "\n").dropFirst().dropLast(), name)
            } else if name.hasPrefix("render") {
                XCTAssertGreaterThan(received.count, 1000, "\(name): a video came through")
                XCTAssertEqual(Array(received.prefix(4)), [0x1A, 0x45, 0xDF, 0xA3], "\(name): Matroska's magic")
            } else {
                XCTAssertEqual(received, expected, name)
            }
            try FileManager.default.removeItem(atPath: path("file"))
        }
    }

    func testALinkIsFollowedAndItsTargetReplaced() throws {
        try inputs()
        for (k, (name, arguments)) in commands(path("link.mkv")).enumerated() {
            let target = path("target-\(k).mkv")
            try? FileManager.default.removeItem(atPath: path("link.mkv"))
            // A dangling link first, then one whose target exists.
            try FileManager.default.createSymbolicLink(atPath: path("link.mkv"), withDestinationPath: "target-\(k).mkv")
            for round in ["dangling", "existing"] {
                let result = try runProcess(trackd, arguments)
                XCTAssertEqual(result.status, 0, "\(name), \(round): \(result.stderr)")
                XCTAssertEqual(kind("link.mkv"), S_IFLNK, "\(name), \(round): the link stays a link")
                XCTAssertEqual(kind("target-\(k).mkv"), S_IFREG, "\(name), \(round): its target is written")
                XCTAssertGreaterThan(try Data(contentsOf: URL(fileURLWithPath: target)).count, 0)
            }
        }
    }

    func testADashIsStandardOutput() throws {
        try inputs()
        let export = try runProcess(trackd, ["export", path("v.jsonl"), "--format", "mot", "--out", "-"], directory: dir)
        let plain = try runProcess(trackd, ["export", path("v.jsonl"), "--format", "mot"], directory: dir)
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stdout, plain.stdout)
        XCTAssertEqual(export.output.split(separator: "\n").count, 20)

        let track = try runProcess(trackd, ["track", "--detections", path("det.txt"), "--out", "-"], directory: dir)
        XCTAssertEqual(track.status, 0, track.stderr)
        let lines = track.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 22, "header, 20 frames, end line: \(track.output)")
        XCTAssertTrue(lines.first?.contains(#""schema":"trackd.tracklog/1""#) ?? false, track.output)
        XCTAssertTrue(track.stderr.hasPrefix("tracked 20 frames"), "the summary goes to standard error: \(track.stderr)")

        let mot = try runProcess(trackd, ["track", "--detections", path("det.txt"), "--mot-out", "-"], directory: dir)
        XCTAssertEqual(mot.status, 0, mot.stderr)
        XCTAssertEqual(mot.output.split(separator: "\n").count, 20)

        let render = try runProcess(trackd, ["render", "--force", path("v.mp4"), path("v.jsonl"), "-o", "-"], directory: dir)
        XCTAssertEqual(render.status, 0, render.stderr)
        XCTAssertEqual(Array(render.stdout.prefix(4)), [0x1A, 0x45, 0xDF, 0xA3], "Matroska on standard output")

        let both = try runProcess(trackd, ["track", "--detections", path("det.txt"), "--out", "-", "--mot-out", "-"])
        XCTAssertEqual(both.status, 1)
        XCTAssertTrue(both.stderr.contains("name the same file"), both.stderr)
        XCTAssertNil(kind("-"), "no file named -")
    }

    func testADanglingLinkToAnotherOutputIsThatOutput() throws {
        try inputs()
        try FileManager.default.createSymbolicLink(atPath: path("l.txt"), withDestinationPath: path("x.jsonl"))
        let result = try runProcess(
            trackd, ["track", "--detections", path("det.txt"), "--out", path("x.jsonl"), "--mot-out", path("l.txt")])
        assertOneLineError(result, contains: "--out and --mot-out name the same file")
        XCTAssertNil(kind("x.jsonl"), "nothing written")
    }
}
