import Foundation
import TestSupport
import VideoIO
import XCTest

/// Every kind of bad input gives its own error with FFmpeg's message; damaged
/// videos give up the frames that can be decoded.
final class BadInputTests: XCTestCase {
    override func setUp() { FFmpegLogLevel.quiet.apply() }

    private func openError(_ path: String, file: StaticString = #filePath, line: UInt = #line) -> VideoError? {
        do {
            _ = try FrameReader(path)
            XCTFail("\(path) opened", file: file, line: line)
            return nil
        } catch let error as VideoError {
            XCTAssertEqual(error.source, path, file: file, line: line)
            return error
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
            return nil
        }
    }

    func testMissingFile() {
        let error = openError(Fixtures.path("no-such-file.mp4"))
        XCTAssertEqual(error?.kind, .fileNotFound)
        XCTAssertEqual(error?.message, "No such file or directory")
        XCTAssertEqual(error?.description, "\(Fixtures.path("no-such-file.mp4")): file not found: No such file or directory")
    }

    func testZeroByteFile() {
        let error = openError(Fixtures.path("empty.mp4"))
        XCTAssertEqual(error?.kind, .notMediaFile)
        XCTAssertEqual(error?.message, "Invalid data found when processing input")
    }

    func testTextFileNamedMP4() {
        XCTAssertEqual(openError(Fixtures.path("not-a-video.mp4"))?.kind, .notMediaFile)
    }

    func testTextFileIsNotReadAsANSIArt() throws {
        // Named like a text file (.nfo, .asc, .ans, ...), text is accepted by FFmpeg's
        // tty demuxer and would "decode" as ANSI-art frames.
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("camera-notes.nfo")
        try Data("Notes:\nthe camera on the roof was moved on Monday.\n".utf8).write(to: text)
        let error = openError(text.path)
        XCTAssertEqual(error?.kind, .notMediaFile)
        XCTAssertEqual(error?.message.contains("text file"), true, error?.message ?? "")
    }

    func testADamagedIndexGivesIncreasingTimesAndCountsWhatItCost() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let intact = try DamagedMP4.intact(in: dir)
        func read(_ path: String) throws -> (times: [Double], stats: DecodeStats) {
            let reader = try FrameReader(path)
            var times: [Double] = []
            while let info = try reader.nextFrameInfo() { times.append(info.time) }
            return (times, reader.stats)
        }
        let clean = try read(intact)
        XCTAssertEqual(clean.times.count, 50)
        XCTAssertEqual([clean.stats.repairedTimes, clean.stats.missingFrames], [0, 0])

        // A frame shown ~0.9 s late: the frames after it go back in time, and the
        // file's last two frames share a time.
        let late = try read(try DamagedMP4.compositionOffsets(intact, [10: 9000], name: "late.mp4"))
        XCTAssertEqual(late.times.count, 50)
        XCTAssertEqual(late.stats.repairedTimes, 2)
        XCTAssertEqual(late.stats.missingFrames, 0)
        XCTAssertTrue(zip(late.times, late.times.dropFirst()).allSatisfy { $1 > $0 + 1e-6 }, "\(late.times)")
        XCTAssertEqual(try FFmpegCLI.frameTimes(dir.appendingPathComponent("late.mp4").path).count, 50)

        // The first frames shown before the presentation starts: FFmpeg drops them.
        let early = try read(try DamagedMP4.compositionOffsets(intact, [0: 516], name: "early.mp4"))
        XCTAssertEqual(early.times.count, 48)
        XCTAssertEqual(early.stats.missingFrames, 2, "the index declares 50")

        let absurd = try DamagedMP4.absurdTimeToSample(intact, name: "stts.mp4")
        let error = openError(absurd)
        XCTAssertEqual(error?.kind, .truncated)
        XCTAssertEqual(
            error?.description, "\(absurd): truncated or corrupt video: the container's index is damaged (Cannot allocate memory)"
        )
    }

    func testMatroskaAndWebMCutShortAreTruncated() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let intact = try DamagedMP4.intact(in: dir)
        for (name, codec) in [
            ("x.mkv", ["-c", "copy"]), ("x.webm", ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"])
        ] {
            let path = dir.appendingPathComponent(name).path
            let made = try runProcess("ffmpeg", ["-v", "error", "-i", intact] + codec + [path])
            XCTAssertEqual(made.status, 0, made.stderr)
            let whole = try Data(contentsOf: URL(fileURLWithPath: path))
            let reader = try FrameReader(path)
            var frames = 0
            while try reader.nextFrameInfo() != nil { frames += 1 }
            XCTAssertEqual(frames, 50, name)
            for percent in [25, 50, 95] {
                let cut = dir.appendingPathComponent("cut\(percent)-" + name).path
                try whole.prefix(whole.count * percent / 100).write(to: URL(fileURLWithPath: cut))
                let reader = try FrameReader(cut)
                var delivered = 0
                do {
                    while try reader.nextFrameInfo() != nil { delivered += 1 }
                    XCTFail("\(cut) read to the end without an error")
                } catch let error as VideoError {
                    XCTAssertEqual(error.kind, .truncated, "\(error)")
                    XCTAssertEqual(error.framesDecoded, delivered)
                    XCTAssertTrue(error.message.contains("its Matroska segment declares"), error.message)
                }
                XCTAssertGreaterThan(delivered, 0, cut)
            }
        }
    }

    func testDirectory() {
        let error = openError(Fixtures.directory.path)
        XCTAssertEqual(error?.kind, .notMediaFile)
        XCTAssertEqual(error?.message, "Is a directory")
    }

    func testNoVideoStream() {
        let error = openError(Fixtures.path("audio-only.m4a"))
        XCTAssertEqual(error?.kind, .noVideoStream)
    }

    func testUnsupportedCodec() {
        let error = openError(Fixtures.path("unknown-codec.avi"))
        XCTAssertEqual(error?.kind, .unsupportedCodec)
        XCTAssertEqual(error?.message.contains("ZZZZ"), true, error?.message ?? "")
    }

    func testPermissionDenied() throws {
        // Root reads any file; the CLI tests run this case as an unprivileged user.
        try XCTSkipIf(geteuid() == 0, "root can read a mode-000 file; see TrackdCLITests.testProbePermissionDenied")
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let locked = dir.appendingPathComponent("locked.mp4").path
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: locked)
        try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: locked)
        let error = openError(locked)
        XCTAssertEqual(error?.kind, .permissionDenied)
        XCTAssertEqual(error?.message, "Permission denied")
    }

    /// Silent network sources are given up after the default timeout (5 s) when no
    /// timeout is set: UDP (whose own `timeout` is the only one it honours) and TCP (a
    /// listener that never sends). A wait past 30 s is cut by the test and fails it.
    func testSilentNetworkSourcesTimeOutByDefault() throws {
        let (listener, tcpPort) = try loopbackSocket(SOCK_STREAM)
        defer { close(listener) }
        XCTAssertEqual(listen(listener, 4), 0)
        for url in ["udp://127.0.0.1:\(try freeUDPPort())", "tcp://127.0.0.1:\(tcpPort)"] {
            var options = FrameReader.Options()
            let started = Date()
            options.interrupt = { Date().timeIntervalSince(started) > 30 }
            XCTAssertThrowsError(try FrameReader(url, options: options), url)
            let waited = Date().timeIntervalSince(started)
            XCTAssertLessThan(waited, 20, "\(url): given up after \(waited) s")
            XCTAssertGreaterThan(waited, FrameReader.networkTimeout - 1, "\(url): not before the timeout")
        }
        // A timeout of the caller's own is left as it is.
        var options = FrameReader.Options()
        options.formatOptions = ["timeout": "500000"]
        let started = Date()
        XCTAssertThrowsError(try FrameReader("udp://127.0.0.1:\(try freeUDPPort())", options: options))
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testInterruptEndsAWaitForASilentSource() throws {
        // Nobody sends to this port, and FFmpeg is told to wait forever.
        var options = FrameReader.Options()
        options.formatOptions = ["timeout": "0"]
        let deadline = Date().addingTimeInterval(0.5)
        options.interrupt = { Date() > deadline }
        let started = Date()
        XCTAssertThrowsError(try FrameReader("udp://127.0.0.1:\(30_000 + Int(getpid() % 20_000))", options: options))
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    /// Runs `body` on its own thread and waits at most `seconds` for it: a reader stuck
    /// in open(2) fails the test instead of hanging the suite.
    private func withinSeconds<T>(_ seconds: Double, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox<T>()
        Thread.detachNewThread {
            result.value = Result { try body() }
            done.signal()
        }
        guard done.wait(timeout: .now() + seconds) == .success, let value = result.value else {
            throw TestError.command("still waiting after \(seconds) s")
        }
        return try value.get()
    }

    private final class ResultBox<T>: @unchecked Sendable { var value: Result<T, Error>? }

    /// A FIFO is read as a pipe. A writer that sent a whole clip and left before the
    /// reader came still gives every frame (opening the path again, as FFmpeg would,
    /// blocks for good once no writer is left); with no writer at all, `interrupt` ends
    /// the wait (FFmpeg's own blocking open(2) never asks it).
    func testFIFOs() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = Fixtures.path("no-pts.h264")
        let expected = try FrameReader(clip)
        var frames = 0
        while try expected.nextFrame() != nil { frames += 1 }

        let fifo = dir.appendingPathComponent("in.h264").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Our read end keeps the pipe and its data (the clip fits in its buffer) alive
        // while the writer comes and goes.
        let held = open(fifo, O_RDONLY | O_NONBLOCK)
        defer { close(held) }
        let writer = open(fifo, O_WRONLY)
        let data = try Data(contentsOf: URL(fileURLWithPath: clip))
        XCTAssertEqual(data.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }, data.count)
        close(writer)
        let decoded = try withinSeconds(30) {
            let reader = try FrameReader(fifo)
            var n = 0
            while try reader.nextFrame() != nil { n += 1 }
            return n
        }
        XCTAssertEqual(decoded, frames)

        let lonely = dir.appendingPathComponent("lonely.h264").path
        XCTAssertEqual(mkfifo(lonely, 0o600), 0)
        let started = Date()
        var options = FrameReader.Options()
        options.interrupt = { Date().timeIntervalSince(started) > 0.5 }
        let interruptible = options
        let outcome = try withinSeconds(30) { Result { try FrameReader(lonely, options: interruptible) } }
        XCTAssertThrowsError(try outcome.get()) { error in
            XCTAssertEqual((error as? VideoError)?.source, lonely)
            XCTAssertEqual((error as? VideoError)?.message, "Immediate exit requested", "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testBadLetterboxSize() {
        var options = FrameReader.Options()
        options.output = .letterbox(width: 0, height: 480)
        XCTAssertThrowsError(try FrameReader(Fixtures.path("h264.mp4"), options: options)) { error in
            XCTAssertEqual((error as? VideoError)?.kind, .invalidOption)
        }
    }

    func testTruncatedFileYieldsItsFramesThenAnError() throws {
        let path = Fixtures.path("truncated.mp4")
        // ffprobe in the same mode (damaged frames dropped) is the reference.
        let expected = try FFmpegCLI.frameTimes(path, explode: true)
        XCTAssertGreaterThan(expected.count, 10)
        XCTAssertLessThan(expected.count, 60)

        let reader = try FrameReader(path)
        var times: [Double] = []
        var thrown: VideoError?
        do {
            while let frame = try reader.nextFrame() { times.append(frame.time) }
        } catch let error as VideoError {
            thrown = error
        }
        XCTAssertEqual(times.count, expected.count)
        for (time, reference) in zip(times, expected) {
            XCTAssertEqual(time, try XCTUnwrap(reference), accuracy: 1e-6)
        }
        let error = try XCTUnwrap(thrown, "a truncated file must not end silently")
        XCTAssertEqual(error.kind, .truncated)
        XCTAssertEqual(error.framesDecoded, times.count)
        XCTAssertTrue(error.description.contains("after \(times.count) frames"), error.description)
        // The error is reported once; the reader then stays at its end.
        XCTAssertNil(try reader.nextFrame())
    }

    func testCorruptPacketInTheMiddleIsSkippedAndCounted() throws {
        let path = Fixtures.path("corrupt-middle.avi")
        let reference = try FFmpegCLI.frameTimes(path)  // concealed frame included
        let reader = try FrameReader(path)
        var times: [Double] = []
        while let frame = try reader.nextFrame() { times.append(frame.time) }
        XCTAssertEqual(times.count, reference.count - 1)
        XCTAssertEqual(reader.stats.corruptPackets + reader.stats.corruptFrames, 1)
        XCTAssertNotNil(reader.stats.lastProblem)
        // The frames around the damage are all there, in order.
        let referenceTimes = reference.compactMap { $0 }
        XCTAssertTrue(times.allSatisfy { t in referenceTimes.contains { abs($0 - t) < 1e-6 } })
        XCTAssertEqual(times, times.sorted())

        // Asked to keep damaged frames, the reader delivers what ffprobe shows.
        var keep = FrameReader.Options()
        keep.corruptFrames = .keep
        let keeping = try FrameReader(path, options: keep)
        var kept = 0
        while try keeping.nextFrame() != nil { kept += 1 }
        XCTAssertEqual(kept, reference.count)
    }

    func testDamagedFilesNeverCrash() throws {
        // Random damage anywhere in each fixture: every outcome is frames and/or a
        // VideoError, never a crash or a hang. Seeded, so a failure reproduces.
        var generator = SeededGenerator(seed: 0x7472_6163_6b64)
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["h264.mp4", "mjpeg.avi", "hevc-audio.mkv"] {
            let original = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path(name)))
            for trial in 0..<8 {
                var bytes = [UInt8](original)
                for _ in 0..<4 {
                    let at = Int(generator.next() % UInt64(bytes.count - 16))
                    for i in 0..<16 { bytes[at + i] = UInt8(truncatingIfNeeded: generator.next()) }
                }
                if trial % 2 == 1 { bytes.removeLast(Int(generator.next() % UInt64(bytes.count / 2))) }
                let damaged = dir.appendingPathComponent("\(trial)-\(name)")
                try Data(bytes).write(to: damaged)
                do {
                    let reader = try FrameReader(damaged.path)
                    while try reader.nextFrame() != nil {}
                } catch is VideoError {
                    // Expected for many damages.
                }
            }
        }
    }
}
