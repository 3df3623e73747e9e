import Foundation
import TestSupport
import XCTest

/// `trackd probe` run as a user runs it: the built executable, as a subprocess.
final class ProbeCommandTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }

    private func probe(_ arguments: [String]) throws -> ProcessResult {
        try runProcess(trackd, ["probe"] + arguments)
    }

    func testTextOutput() throws {
        let result = try probe([Fixtures.path("h264.mp4")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        let text = result.output
        for expected in [
            "container:  mov,mp4,m4a,3gp,3g2,mj2", "codec:      h264 (", "size:       320x240, yuv420p",
            "frame rate: 30 fps (30/1)", "duration:   2 s", "audio:      none"
        ] {
            XCTAssertTrue(text.contains(expected), "missing '\(expected)' in:\n\(text)")
        }
        XCTAssertFalse(text.contains("frames:"), "frames are counted only with --count")
    }

    func testCountWithJSON() throws {
        for (name, frames, codec, width, audio) in [
            ("h264.mp4", 60, "h264", 320, 0), ("mjpeg.avi", 25, "mjpeg", 192, 0),
            ("hevc-audio.mkv", 50, "hevc", 320, 1), ("vfr.mp4", 36, "h264", 320, 0)
        ] {
            let result = try probe(["--json", "--count", Fixtures.path(name)])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            XCTAssertEqual(object["frames"] as? Int, frames, name)
            XCTAssertEqual(object["codec"] as? String, codec, name)
            XCTAssertEqual(object["width"] as? Int, width, name)
            XCTAssertEqual(object["audioStreams"] as? Int, audio, name)
            // The count agrees with ffprobe's.
            XCTAssertEqual(try FFmpegCLI.frameTimes(Fixtures.path(name)).count, frames, name)
        }
    }

    func testFileNamesWithAColonAreFilesNotProtocols() throws {
        // FFmpeg reads "12" in "12:30.mp4" as a protocol name; a file that exists is a file.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: dir.appendingPathComponent("12:30.mp4").path)
        let result = try runProcess(trackd, ["probe", "--json", "--count", "12:30.mp4"], directory: dir)
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(object["frames"] as? Int, 60)
        // One that does not exist is still reported missing, not sent to a protocol.
        let missing = try runProcess(trackd, ["probe", "12:31.mp4"], directory: dir)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderr, "trackd: error: 12:31.mp4: file not found: No such file or directory\n")
    }

    /// A cover picture (an MP3's attached picture) is one frame of a "video" stream to
    /// FFmpeg, not a video: alone it is refused, and beside a video the video is read.
    func testAnAttachedCoverPictureIsNotAVideo() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cover = dir.appendingPathComponent("cover.png").path
        let song = dir.appendingPathComponent("song.mp3").path
        let clip = dir.appendingPathComponent("clip.mp4").path
        for arguments in [
            ["-f", "lavfi", "-i", "color=red:s=64x64", "-frames:v", "1", cover],
            [
                "-f", "lavfi", "-i", "sine=d=1", "-i", cover, "-map", "0", "-map", "1", "-c:a", "libmp3lame", "-c:v", "png",
                "-disposition:v", "attached_pic", song
            ],
            [
                "-i", cover, "-i", Fixtures.path("h264.mp4"), "-map", "0", "-map", "1", "-c:v:0", "png", "-c:v:1", "copy",
                "-disposition:v:0", "attached_pic", clip
            ]
        ] {
            let made = try runProcess("ffmpeg", ["-v", "error", "-y"] + arguments)
            XCTAssertEqual(made.status, 0, made.stderr)
        }
        for command in [["probe", "--count", song], ["track", song, "--out", dir.appendingPathComponent("s.jsonl").path]] {
            let result = try runProcess(trackd, command)
            XCTAssertEqual(result.status, 1, "\(command)")
            XCTAssertEqual(
                result.stderr,
                "trackd: error: \(song): no video stream: its only picture is an attached cover picture, not a video\n")
        }
        let video = try probe(["--count", "--json", clip])
        XCTAssertEqual(video.status, 0, video.stderr)
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: video.stdout) as? [String: Any])
        XCTAssertEqual(report["frames"] as? Int, 60)
        XCTAssertEqual(report["codec"] as? String, "h264")
    }

    /// A display matrix (a phone's portrait video, stored landscape) is shown by probe,
    /// warned about by track and recorded in the log's header: the boxes are in the
    /// picture as stored. (FFmpeg turns a `rotate=90` tag's picture 90° counterclockwise
    /// for display: 270° clockwise.)
    func testADisplayMatrixIsShownWarnedAboutAndRecorded() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let turned = dir.appendingPathComponent("phone.mp4").path
        let made = try runProcess(
            "ffmpeg", ["-v", "error", "-y", "-i", Fixtures.path("h264.mp4"), "-c", "copy", "-metadata:s:v", "rotate=90", turned])
        XCTAssertEqual(made.status, 0, made.stderr)
        let json = try probe(["--json", turned])
        let report = try XCTUnwrap(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        XCTAssertEqual(report["rotation"] as? Int, 270)
        XCTAssertEqual(
            (try JSONSerialization.jsonObject(with: try probe(["--json", Fixtures.path("h264.mp4")]).stdout) as? [String: Any])?[
                "rotation"] as? Int, 0)
        XCTAssertTrue(try probe([turned]).output.contains("rotation:   270° clockwise for display"))
        let log = dir.appendingPathComponent("phone.jsonl").path
        let track = try runProcess(trackd, ["track", turned, "--end", "0.2", "--out", log])
        XCTAssertEqual(track.status, 0, track.stderr)
        XCTAssertTrue(track.stderr.contains("the picture is to be turned 270° clockwise for display"), track.stderr)
        XCTAssertEqual(try readLog(log).reader.header.video.rotation, 270)
    }

    /// An open that fails with a code that says little ("Device or resource busy"
    /// from FFmpeg's Y4M reader) names what FFmpeg logged about it.
    func testAPictureTooLargeForFFmpegIsNamed() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let huge = dir.appendingPathComponent("huge.y4m").path
        try Data("YUV4MPEG2 W16384 H16384 F25:1 Ip A1:1 C420jpeg\nFRAME\nabc".utf8).write(to: URL(fileURLWithPath: huge))
        for command in [["probe", huge], ["track", huge, "--out", dir.appendingPathComponent("h.jsonl").path]] {
            let result = try runProcess(trackd, command)
            XCTAssertEqual(result.status, 1)
            XCTAssertTrue(result.stderr.contains("(FFmpeg: Picture size 16384x16384 is invalid)"), result.stderr)
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
        }
    }

    func testJSONWithoutCountHasNoFrames() throws {
        let result = try probe(["--json", Fixtures.path("hevc-audio.mkv")])
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertNil(object["frames"])
        XCTAssertEqual(object["height"] as? Int, 240)
        XCTAssertEqual(object["frameRate"] as? Double, 25)
        XCTAssertEqual(object["container"] as? String, "matroska,webm")
        XCTAssertEqual(try XCTUnwrap(object["duration"] as? Double), 2.0, accuracy: 0.1)
    }

    func testBadInputsExitNonZeroWithOneLine() throws {
        for (name, text) in [
            ("no-such-file.mp4", "file not found"), ("empty.mp4", "not a media file"),
            ("not-a-video.mp4", "not a media file"), ("audio-only.m4a", "no video stream"),
            ("unknown-codec.avi", "unsupported codec")
        ] {
            let result = try probe([Fixtures.path(name)])
            assertOneLineError(result, contains: text)
        }
    }

    func testTruncatedCountPrintsTheFramesThenFails() throws {
        let result = try probe(["--count", Fixtures.path("truncated.mp4")])
        assertOneLineError(result, contains: "truncated or corrupt video: decoding stopped after 24 frames", stdoutEmpty: false)
        XCTAssertTrue(result.output.contains("frames:     24"), result.output)
    }

    func testCorruptMiddleIsCountedNotFatal() throws {
        let result = try probe(["--count", "--json", Fixtures.path("corrupt-middle.avi")])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(object["frames"] as? Int, 24)
        XCTAssertEqual((object["corruptPackets"] as? Int ?? 0) + (object["corruptFrames"] as? Int ?? 0), 1)
    }

    func testProbePermissionDenied() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let locked = dir.appendingPathComponent("locked.mp4").path
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: locked)
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: locked)
        let result: ProcessResult
        if geteuid() == 0 {
            // Root reads anything: run trackd as nobody (setpriv, from util-linux).
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
            let binary = dir.appendingPathComponent("trackd").path
            try FileManager.default.copyItem(atPath: trackd, toPath: binary)
            result = try runProcess("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", binary, "probe", locked])
        } else {
            result = try probe([locked])
        }
        assertOneLineError(result, contains: "permission denied: Permission denied")
    }

    func testCountingADamagedStreamGivesTheSameCountEveryTime() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ts = dir.appendingPathComponent("damaged.ts").path
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-i", try Deps.media("vtest.avi"), "-t", "8", "-c:v", "libx264",
                "-g", "25", "-bf", "2", "-pix_fmt", "yuv420p", ts
            ])
        XCTAssertEqual(made.status, 0, made.stderr)
        // Bursts of random bytes through the middle half, always the same ones.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ts)))
        var random = SeededGenerator(seed: 5)
        for _ in 0..<60 {
            let at = Int.random(in: bytes.count / 4..<3 * bytes.count / 4, using: &random)
            for k in 0..<Int.random(in: 5..<200, using: &random) { bytes[at + k] = UInt8.random(in: 0...255, using: &random) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: ts))
        var counts = Set<Int>()
        for _ in 0..<6 {
            let result = try probe(["--json", "--count", ts])
            XCTAssertEqual(result.status, 0, result.stderr)
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            counts.insert(try XCTUnwrap(object["frames"] as? Int))
            XCTAssertGreaterThan(object["corruptFrames"] as? Int ?? 0, 0)
        }
        XCTAssertEqual(counts.count, 1, "counts differ between runs: \(counts)")
        XCTAssertLessThan(counts.first ?? 80, 80, "the damaged frames are not counted")
    }

    func testAVIsMadeByFFmpegAreWholeAndACutOneIsNot() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bframes = try DamagedMP4.intact(in: dir)
        // Remuxed (B-frames: the AVI header then counts 100 "frames" of a finer time
        // base for 50 pictures) and encoded by ffmpeg's own encoders.
        let made: [(String, [String])] = [
            ("remux-bframes.avi", ["-i", bframes, "-c", "copy"]),
            ("remux-h264.avi", ["-i", Fixtures.path("h264.mp4"), "-c", "copy"]),
            ("mpeg4.avi", ["-i", bframes, "-c:v", "mpeg4", "-bf", "2"]),
            ("mjpeg.avi", ["-i", bframes, "-c:v", "mjpeg", "-q:v", "5"]),
            ("x264.avi", ["-i", bframes, "-c:v", "libx264", "-threads", "1"])
        ]
        for (name, arguments) in made {
            let path = dir.appendingPathComponent(name).path
            let ffmpeg = try runProcess("ffmpeg", ["-v", "error"] + arguments + [path])
            XCTAssertEqual(ffmpeg.status, 0, ffmpeg.stderr)
            let result = try probe(["--json", "--count", path])
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
            XCTAssertEqual(object["frames"] as? Int, try FFmpegCLI.frameTimes(path).count, name)
            XCTAssertNil(object["error"], name)
        }
        // The remuxed file cut short (its index at the end is gone) is still caught.
        let whole = try Data(contentsOf: dir.appendingPathComponent("remux-bframes.avi"))
        let cut = dir.appendingPathComponent("cut.avi")
        try whole.prefix(whole.count * 6 / 10).write(to: cut)
        assertOneLineError(try probe(["--count", cut.path]), contains: "truncated or corrupt video", stdoutEmpty: false)
    }

    func testNetworkFailuresAreNamedAsSuch() throws {
        // A port nothing listens on: refused at once.
        let (closed, refusedPort) = try loopbackSocket(SOCK_STREAM)
        close(closed)
        for url in ["rtsp://127.0.0.1:\(refusedPort)/live", "http://127.0.0.1:\(refusedPort)/a.mp4"] {
            assertOneLineError(try probe([url]), contains: "\(url): cannot connect: Connection refused")
        }
        // A server that accepts the connection and then says nothing.
        let (silent, port) = try loopbackSocket(SOCK_STREAM)
        defer { close(silent) }
        XCTAssertEqual(listen(silent, 8), 0)
        assertOneLineError(
            try probe(["-o", "timeout=1000000", "rtsp://127.0.0.1:\(port)/live"]),
            contains: "rtsp://127.0.0.1:\(port)/live: timed out: nothing received in 1 s")
        assertOneLineError(
            try probe(["-o", "rw_timeout=1000000", "http://127.0.0.1:\(port)/a.mp4"]),
            contains: "http://127.0.0.1:\(port)/a.mp4: timed out")
    }

    func testURLWithInputOptions() throws {
        // Any URL FFmpeg opens; demuxer options pass through (-o key=value).
        let url = "file:" + Fixtures.path("mjpeg.avi")
        let result = try probe(["--json", "--count", "-o", "probesize=100000", url])
        XCTAssertEqual(result.status, 0, result.stderr)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        XCTAssertEqual(object["source"] as? String, url)
        XCTAssertEqual(object["frames"] as? Int, 25)

        // A misspelt option is an error, not silently ignored.
        let unknown = try probe(["-o", "rtsp_transprot=tcp", url])
        assertOneLineError(
            unknown, contains: "invalid option: no FFmpeg component of this input takes the option(s) rtsp_transprot")
        let malformed = try probe(["-o", "novalue", url])
        XCTAssertNotEqual(malformed.status, 0)
        XCTAssertTrue(malformed.stderr.contains("key=value"), malformed.stderr)
    }

    func testHelpListsProbe() throws {
        let result = try runProcess(trackd, ["--help"])
        XCTAssertEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("probe"), result.output)
        let sub = try runProcess(trackd, ["probe", "--help"])
        XCTAssertTrue(sub.output.contains("--count"), sub.output)
    }
}
