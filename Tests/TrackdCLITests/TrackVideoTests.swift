import Foundation
import TestSupport
import TrackLog
import XCTest

/// `trackd track <video>` end to end, as a subprocess: the log, export, eval round
/// trip, synthetic walkers with known truth, crashes and signals, bad inputs.
final class TrackVideoTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory()
        for sub in ["results", "detector", "replay"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    /// A MOTChallenge ground-truth folder `gt/<seq>` from result lines (frame,id,x,y,w,h,...).
    private func groundTruth(_ seq: String, lines: [Substring], frames: Int, width: Int, height: Int, fps: Int) throws -> URL {
        let root = dir.appendingPathComponent("gt-\(seq)")
        let seqDir = root.appendingPathComponent(seq)
        try FileManager.default.createDirectory(at: seqDir.appendingPathComponent("gt"), withIntermediateDirectories: true)
        try "[Sequence]\nname=\(seq)\nframeRate=\(fps)\nseqLength=\(frames)\nimWidth=\(width)\nimHeight=\(height)\n"
            .write(to: seqDir.appendingPathComponent("seqinfo.ini"), atomically: true, encoding: .utf8)
        let gt = lines.map { $0.split(separator: ",").prefix(6).joined(separator: ",") + ",1,1,1" }.joined(separator: "\n") + "\n"
        try gt.write(to: seqDir.appendingPathComponent("gt/gt.txt"), atomically: true, encoding: .utf8)
        return root
    }

    private func evaluate(gt: URL, results: URL) throws -> [String: Any] {
        let result = try runProcess(trackd, ["eval", "--json", "--gt", gt.path, "--results", results.path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let root = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [String: Any])
        return try XCTUnwrap(root["combined"] as? [String: Any])
    }

    func testVtestEndToEnd() throws { try vtestEndToEnd(precision: nil) }

    /// As a CPU without bf16 runs it (`auto` picks bf16 where the CPU has it): the
    /// same properties must hold in either precision.
    func testVtestEndToEndInF32() throws { try vtestEndToEnd(precision: "f32") }

    /// `--input-shape fitted` on vtest.avi (768x576, 4:3): the model runs at 416x320,
    /// which the log's header records; the square input is 416x416. The same people are
    /// tracked, in the picture's pixels, either way.
    func testAFittedInputIsRecordedAndTracksTheSamePeople() throws {
        let video = try Deps.media("vtest.avi")
        var people: [Int] = []
        for (shape, size) in [("square", [416, 416]), ("fitted", [416, 320])] {
            let log = path("\(shape).jsonl")
            let result = try runProcess(
                trackd, ["track", video, "--end", "10", "--classes", "person", "--input-shape", shape, "--out", log])
            XCTAssertEqual(result.status, 0, result.stderr)
            let (reader, frames, _) = try readLog(log)
            XCTAssertEqual(reader.header.detector.inputSize, size, shape)
            XCTAssertTrue(reader.header.detector.kind.contains("\(size[0])x\(size[1])"), reader.header.detector.kind)
            people.append(frames.map(\.tracks.count).reduce(0, +))
        }
        // As many tracked boxes, within a fifth: the same scene, seen alike.
        XCTAssertEqual(Double(people[1]), Double(people[0]), accuracy: Double(people[0]) * 0.2, "square, fitted: \(people)")
        let refused = try runProcess(trackd, ["track", video, "--input-shape", "round"])
        XCTAssertEqual(refused.status, 64)
        XCTAssertTrue(refused.stderr.contains("--input-shape"), refused.stderr)
    }

    private func vtestEndToEnd(precision: String?) throws {
        let video = try Deps.media("vtest.avi")
        let result = try runProcess(
            trackd, ["track", video, "--out", path("log.jsonl")] + (precision.map { ["--precision", $0] } ?? []))
        XCTAssertEqual(result.status, 0, result.stderr)
        // Off a terminal: no progress, one summary line.
        XCTAssertEqual(result.stderr, "")
        XCTAssertEqual(result.output.split(separator: "\n").count, 1)
        XCTAssertTrue(result.output.hasPrefix("tracked 795 frames in "), result.output)

        let (reader, frames, end) = try readLog(path("log.jsonl"))
        XCTAssertEqual(reader.header.schema, "trackd.tracklog/1")
        // One version everywhere: the log's, `trackd --version`'s (and so the Debian
        // package's, which scripts/package-deb takes from it).
        let version = try runProcess(trackd, ["--version"])
        XCTAssertEqual(version.status, 0)
        XCTAssertEqual(reader.header.trackd + "\n", version.output)
        XCTAssertEqual(reader.header.video.width, 768)
        XCTAssertEqual(reader.header.detector.classes.count, 80, "the model's classes")
        XCTAssertEqual(reader.header.detector.classes.first, "person")
        XCTAssertEqual(reader.header.detector.classAwareNMS, false)
        XCTAssertTrue(reader.header.tracker.visual, "visual predictors on, for a video")
        XCTAssertEqual(frames.count, try FFmpegCLI.frameTimes(video).count)
        XCTAssertEqual(frames.map(\.frame), Array(0..<frames.count))
        XCTAssertEqual(end?.status, .complete)
        XCTAssertEqual(end?.frames, frames.count)
        // Boxes may reach past the edge (people walk out of the picture), but each
        // has some area inside it.
        for track in frames.flatMap(\.tracks) {
            let b = track.box
            XCTAssertTrue(b[2] > 0 && b[3] > 0 && b[0] < 768 && b[1] < 576 && b[0] + b[2] > 0 && b[1] + b[3] > 0, "\(b)")
        }
        // People walking through the scene, counted by hand once on a contact sheet of
        // every 40th frame (about 35 passes; some people cross more than once, some
        // together, seen as one). The small default model misses people for a few
        // frames now and then, which splits some of them into two tracks; a tracker
        // that merged people or lost them every frame would leave this range.
        let ids = Set(frames.flatMap { $0.tracks.map(\.id) })
        XCTAssertEqual(end?.tracks, ids.count)
        let people = Set(frames.flatMap { $0.tracks.filter { $0.class == "person" }.map(\.id) })
        XCTAssertTrue((18...80).contains(people.count), "\(people.count) person tracks")
        // The van and the car parked at the top right, each one track (class car or
        // truck) through nearly the whole video.
        var parked: [Int: Int] = [:]
        for track in frames.flatMap(\.tracks)
        where ["car", "truck", "bus"].contains(track.class)
            && track.box[0] + track.box[2] / 2 > 640 && track.box[1] + track.box[3] / 2 < 110
        {
            parked[track.id, default: 0] += 1
        }
        XCTAssertEqual(parked.values.filter { $0 >= frames.count * 9 / 10 }.count, 2, "\(parked)")

        // Round trip: the log exported as MOTChallenge results, scored against itself.
        let export = try runProcess(trackd, ["export", path("log.jsonl"), "--format", "mot", "--out", path("results/vtest.txt")])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual(export.stderr, "")
        let lines = try String(contentsOfFile: path("results/vtest.txt"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, frames.reduce(0) { $0 + $1.tracks.count })
        let gt = try groundTruth("vtest", lines: lines, frames: frames.count, width: 768, height: 576, fps: 10)
        let score = try evaluate(gt: gt, results: dir.appendingPathComponent("results"))
        for metric in ["HOTA", "MOTA", "IDF1"] { XCTAssertEqual(score[metric] as? Double, 100, metric) }
    }

    /// The synthetic walkers (`makeWalkers`) and their ground truth as MOTChallenge lines.
    private func syntheticWalkers() throws -> (video: String, truth: [Substring]) {
        let video = path("walkers.mp4")
        return (video, try makeWalkers(video).map { Substring($0) })
    }

    func testSyntheticWalkersWithTheDetectorAndWithReplay() throws { try syntheticWalkers(precision: nil) }

    func testSyntheticWalkersInF32() throws { try syntheticWalkers(precision: "f32") }

    private func syntheticWalkers(precision: String?) throws {
        let (video, truth) = try syntheticWalkers()
        let gt = try groundTruth("walkers", lines: truth, frames: 80, width: 640, height: 360, fps: 10)

        // The detector: every walker tracked nearly all the time. While one walker
        // hides the other (1.2 s), the detector sees one box that drifts from one to the
        // other, and motion alone cannot tell which walker comes out on which side: the
        // two ids may swap there once (IDF1 about 63 then, 100 without the swap).
        let run = try runProcess(
            trackd,
            ["track", video, "--out", path("walkers.jsonl"), "--mot-out", path("detector/walkers.txt")]
                + (precision.map { ["--precision", $0] } ?? []))
        XCTAssertEqual(run.status, 0, run.stderr)
        let detected = try evaluate(gt: gt, results: dir.appendingPathComponent("detector"))
        XCTAssertGreaterThan(detected["MOTA"] as? Double ?? 0, 80, "\(detected)")
        XCTAssertGreaterThan(detected["IDF1"] as? Double ?? 0, 60, "\(detected)")
        XCTAssertEqual(detected["MT"] as? Int, 3, "\(detected)")
        XCTAssertLessThanOrEqual(detected["IDSW"] as? Int ?? 99, 2, "\(detected)")
        guard precision == nil else { return }

        // Replay: the truth as det.txt, jittered by up to 2 px: no identity error at all.
        let det =
            truth.enumerated().map { k, line -> String in
                let f = line.split(separator: ",")
                let jitter = Double((k * 7919) % 5) - 2
                return "\(f[0]),-1,\(Double(f[2])! + jitter),\(Double(f[3])! - jitter),60,194,0.9,-1,-1,-1"
            }.joined(separator: "\n") + "\n"
        try det.write(toFile: path("det.txt"), atomically: true, encoding: .utf8)
        let replay = try runProcess(
            trackd,
            [
                "track", "--detections", path("det.txt"), "--seqinfo", gt.appendingPathComponent("walkers/seqinfo.ini").path,
                "--mot-out", path("replay/walkers.txt"), "--out", path("replay.jsonl")
            ])
        XCTAssertEqual(replay.status, 0, replay.stderr)
        let replayed = try evaluate(gt: gt, results: dir.appendingPathComponent("replay"))
        XCTAssertEqual(replayed["IDSW"] as? Int, 0, "\(replayed)")
        XCTAssertGreaterThan(replayed["MOTA"] as? Double ?? 0, 95, "\(replayed)")
        let replayLog = try readLog(path("replay.jsonl"))
        XCTAssertEqual(replayLog.end?.tracks, 3)
        XCTAssertFalse(replayLog.reader.header.tracker.visual, "a replay has no pictures: motion alone, and the header says so")
    }

    func testRenderDrawsEachTrackWhereTheLogSays() throws {
        let (video, _) = try syntheticWalkers()
        XCTAssertEqual(try runProcess(trackd, ["track", video, "--end", "3", "--out", path("w.jsonl")]).status, 0)
        let result = try runProcess(trackd, ["render", video, path("w.jsonl"), "-o", path("w.mp4")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.output.hasPrefix("rendered 31 frames"), result.output)
        XCTAssertEqual(
            result.stderr,
            "trackd: warning: \(path("w.jsonl")) ends at frame 30 (3.0 s), before the video does: the output stops there\n")
        let probe = try runProcess(
            "ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", path("w.mp4")])
        XCTAssertEqual(probe.output.trimmingCharacters(in: .whitespacesAndNewlines), "h264,640,360")
        XCTAssertEqual(try FFmpegCLI.frameTimes(path("w.mp4")).count, 31)

        // Frame 20: along each logged box's top edge the picture changed (the outline);
        // in the empty bottom-left corner it did not (only compression noise).
        let (_, frames, _) = try readLog(path("w.jsonl"))
        let logged = try XCTUnwrap(frames.first { $0.frame == 20 })
        XCTAssertEqual(logged.tracks.count, 3)
        let drawn = try FFmpegCLI.rgbFrame(path("w.mp4"), index: 20)
        let source = try FFmpegCLI.rgbFrame(video, index: 20)
        func difference(x: ClosedRange<Int>, y: ClosedRange<Int>) -> Double {
            var sum = 0
            var n = 0
            for yy in y {
                for xx in x {
                    for c in 0..<3 {
                        let i = (yy * 640 + xx) * 3 + c
                        sum += abs(Int(drawn[i]) - Int(source[i]))
                        n += 1
                    }
                }
            }
            return Double(sum) / Double(n)
        }
        for t in logged.tracks {
            let x0 = Int(t.box[0]) + 3
            let x1 = Int(t.box[0] + t.box[2]) - 3
            let y = Int(t.box[1].rounded()) + 1
            XCTAssertGreaterThan(difference(x: x0...x1, y: y...y), 40, "outline of track \(t.id)")
        }
        XCTAssertLessThan(difference(x: 0...40, y: 320...359), 8)

        // A log of another video is refused: another picture size, or a file of the
        // same size in pixels but not in bytes; --force draws it anyway.
        let other = try runProcess(trackd, ["render", try Deps.media("vtest.avi"), path("w.jsonl"), "-o", path("x.mp4")])
        assertOneLineError(other, contains: "not the same video")
        let reencoded = path("reencoded.mp4")
        XCTAssertEqual(try runProcess("ffmpeg", ["-v", "error", "-i", video, "-t", "2", "-c:v", "mpeg4", reencoded]).status, 0)
        let sameSize = try runProcess(trackd, ["render", reencoded, path("w.jsonl"), "-o", path("y.mp4")])
        assertOneLineError(sameSize, contains: "not the same video (--force draws it anyway)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("y.mp4")))
        let forced = try runProcess(trackd, ["render", "--force", reencoded, path("w.jsonl"), "-o", path("y.mp4")])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(
            forced.stderr, "trackd: warning: \(reencoded) ends before \(path("w.jsonl")): its last 11 frames were not drawn\n")

        // A render that fails half-way (a video cut short) leaves no file behind; an
        // output name with a colon is a file.
        XCTAssertEqual(
            try runProcess("ffmpeg", ["-v", "error", "-i", video, "-c", "copy", "-movflags", "+faststart", path("fast.mp4")])
                .status, 0)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path("fast.mp4")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: path("cut.mp4")))
        let failed = try runProcess(
            trackd, ["render", "--force", path("cut.mp4"), path("w.jsonl"), "-o", "12:30.mp4"], directory: dir)
        assertOneLineError(failed, contains: "truncated or corrupt video", stdoutEmpty: false)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains("12:30") }, [])
        let named = try runProcess(trackd, ["render", video, path("w.jsonl"), "-o", "12:30.mp4"], directory: dir)
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertEqual(try FFmpegCLI.frameTimes(path("12:30.mp4")).count, 31)
    }

    /// Starts trackd with `arguments`, its output discarded (its stderr into `stderr`).
    private func launch(_ arguments: [String], stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: trackd)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try spawn(process)
        return process
    }

    /// Starts `trackd track` on vtest.avi and waits until its log has `lines` lines.
    private func startTracking(log: String, lines: Int = 30) throws -> Process {
        let process = try launch(["track", try Deps.media("vtest.avi"), "--out", log])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").count >= lines { return process }
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTFail("the log never reached \(lines) lines")
        return process
    }

    func testKillMinus9LeavesALogValidUpToItsLastCompleteLine() throws {
        let log = path("killed.jsonl")
        let process = try startTracking(log: log)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal)
        let (_, frames, end) = try readLog(log)
        XCTAssertNil(end, "killed: no end line")
        XCTAssertGreaterThanOrEqual(frames.count, 29)
        XCTAssertEqual(frames.map(\.frame), Array(0..<frames.count))
        let export = try runProcess(trackd, ["export", log, "--format", "csv"])
        XCTAssertEqual(export.status, 0)
        XCTAssertTrue(export.stderr.contains("(its run was killed, or its disk filled up)"), export.stderr)
    }

    /// Killed while the model loads, before the header: the log is not there at all,
    /// never an empty file (a run started on a full disk ends the same way).
    func testKillMinus9BeforeTheHeaderLeavesNoEmptyLog() throws {
        let log = path("early.jsonl")
        let process = try launch(["track", try Deps.media("vtest.avi"), "--out", log])
        // The output is opened first, then the model loads (a second or more).
        let deadline = Date().addingTimeInterval(60)
        func opened() -> Bool {
            ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains {
                $0.hasPrefix("early.jsonl") || $0.hasPrefix(".early.jsonl")
            }
        }
        while !opened(), process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertTrue(opened(), "the run opened its output")
        if FileManager.default.fileExists(atPath: log) {
            // Only if the header had been written already: then the log is valid.
            let (reader, _, _) = try readLog(log)
            XCTAssertEqual(reader.header.schema, "trackd.tracklog/1")
        }
        XCTAssertNotEqual((try? FileManager.default.attributesOfItem(atPath: log)[.size] as? Int) ?? nil, 0, "no empty log")
    }

    /// Sends `signal` to `process` and waits for it to exit, for 30 s at most (then
    /// it is killed and the test fails): its exit status.
    private func signalAndWait(_ process: Process, _ signal: Int32) -> Int32? {
        kill(process.processIdentifier, signal)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTFail("still waiting 30 s after signal \(signal)")
            return nil
        }
        return process.terminationStatus
    }

    /// A TCP server on loopback owned by the test: it accepts one connection, sends
    /// `data` and then nothing, keeping the connection open until it goes away — a
    /// source that goes silent. No other test can take its port.
    private final class SilentServer: @unchecked Sendable {
        let port: Int
        private let listener: Int32
        private var connection: Int32 = -1
        private let lock = NSLock()

        init(sending data: Data) throws {
            (listener, port) = try loopbackSocket(SOCK_STREAM)
            guard listen(listener, 1) == 0 else { throw TestError.command("cannot listen on loopback: errno \(errno)") }
            Thread.detachNewThread { [self] in
                let fd = accept(self.listener, nil, nil)
                guard fd >= 0 else { return }
                lock.lock()
                connection = fd
                lock.unlock()
                data.withUnsafeBytes { bytes in
                    var offset = 0
                    while offset < bytes.count {
                        let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                        if n <= 0 { return }
                        offset += n
                    }
                }
            }
        }

        deinit {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
            lock.lock()
            if connection >= 0 { close(connection) }
            lock.unlock()
        }
    }

    /// `track` on sources that send nothing: a network source with a timeout far
    /// longer than the test (so only the signal can end the wait) and a FIFO no one
    /// writes to. The signal comes as soon as the output exists, early in the run. SIGTERM, SIGHUP and SIGINT end the wait (exit 143,
    /// 129, 130) and leave no log; on a source that goes silent mid-way, SIGINT ends
    /// the log `interrupted` (exit 130).
    func testSignalsEndAWaitOnASilentSource() throws {
        let fifo = path("lonely.ts")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        for (signal, code) in [(SIGTERM, Int32(143)), (SIGHUP, Int32(129)), (SIGINT, Int32(130))] {
            let server = try SilentServer(sending: Data())
            let source = signal == SIGINT ? [fifo] : ["tcp://127.0.0.1:\(server.port)", "-o", "rw_timeout=600000000"]
            let log = path("silent-\(signal).jsonl")
            let stderr = Pipe()
            let process = try launch(["track"] + source + ["--out", log], stderr: stderr)
            // The output is opened first; then the model loads and the source opens.
            let deadline = Date().addingTimeInterval(60)
            while !(((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains {
                $0.hasPrefix(".silent-\(signal)")
            }),
                Date() < deadline
            { Thread.sleep(forTimeInterval: 0.01) }
            XCTAssertEqual(signalAndWait(process, signal), code, "signal \(signal)")
            let said = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            XCTAssertTrue(said.contains("interrupted before the video opened"), said)
            XCTAssertFalse(FileManager.default.fileExists(atPath: log), "no log for a source that never opened")
            XCTAssertFalse(
                ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).contains { $0.contains(".partial") })
        }

        // Three seconds of video, then silence.
        let clip = path("clip.ts")
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-y", "-i", try Deps.media("vtest.avi"), "-t", "3", "-vf", "scale=384:288",
                "-c:v", "libx264", "-g", "10", "-bf", "0", "-f", "mpegts", clip
            ])
        XCTAssertEqual(made.status, 0, made.stderr)
        let server = try SilentServer(sending: try Data(contentsOf: URL(fileURLWithPath: clip)))
        let log = path("stalled.jsonl")
        let process = try launch(["track", "tcp://127.0.0.1:\(server.port)", "-o", "rw_timeout=600000000", "--out", log])
        let deadline = Date().addingTimeInterval(60)
        while ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count < 5, Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(signalAndWait(process, SIGINT), 130)
        let (_, frames, end) = try readLog(log)
        XCTAssertGreaterThanOrEqual(frames.count, 4)
        XCTAssertEqual(end?.status, .interrupted)
        withExtendedLifetime(server) {}
    }

    /// A moving vehicle is tracked as one `car`: darknet's dog.jpg (a dog, a bicycle, a
    /// pickup) pasted on a grey background and moved right at 80 px/s for 3 s.
    func testAMovingCarIsTrackedAsACar() throws { try movingCar(precision: nil) }

    func testAMovingCarIsTrackedAsACarInF32() throws { try movingCar(precision: "f32") }

    private func movingCar(precision: String?) throws {
        let clip = path("car.mp4")
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=gray:s=800x450:r=10:d=3",
                "-i", try Deps.media("dog.jpg"), "-filter_complex",
                "[1]scale=512:384[p];[0][p]overlay=x='20+t*80':y=30",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", clip
            ])
        XCTAssertEqual(made.status, 0, made.stderr)
        let result = try runProcess(
            trackd,
            ["track", clip, "--classes", "car", "--class-aware-nms", "--out", path("car.jsonl")]
                + (precision.map { ["--precision", $0] } ?? []))
        XCTAssertEqual(result.status, 0, result.stderr)
        let (reader, frames, _) = try readLog(path("car.jsonl"))
        XCTAssertEqual(reader.header.detector.classAwareNMS, true)
        let tracks = frames.flatMap(\.tracks)
        XCTAssertEqual(Set(tracks.map(\.id)).count, 1, "one vehicle, one track: \(tracks)")
        XCTAssertEqual(Set(tracks.map(\.class)), ["car"])
        XCTAssertGreaterThanOrEqual(tracks.count, 20, "tracked in most of the 30 frames")
        let first = try XCTUnwrap(tracks.first)
        let last = try XCTUnwrap(tracks.last)
        let moved = last.box[0] - first.box[0]
        let seconds = frames.last { !$0.tracks.isEmpty }!.time - frames.first { !$0.tracks.isEmpty }!.time
        XCTAssertEqual(moved / seconds, 80, accuracy: 10, "moves right with the picture")
    }

    func testSignalsEndTheLogAsInterrupted() throws {
        for (signal, code) in [(SIGTERM, 143), (SIGINT, 130)] {
            let log = path("signal-\(signal).jsonl")
            let process = try startTracking(log: log)
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .exit)
            XCTAssertEqual(process.terminationStatus, Int32(code))
            let (reader, frames, end) = try readLog(log)
            XCTAssertFalse(reader.truncatedTail)
            XCTAssertEqual(end?.status, .interrupted)
            XCTAssertEqual(end?.frames, frames.count)
            XCTAssertLessThan(frames.count, 795)
        }
    }

    func testCorruptVideoEndsTheLogAsFailedAndKeepsItsFrames() throws {
        let result = try runProcess(trackd, ["track", Fixtures.path("truncated.mp4"), "--out", path("cut.jsonl")])
        assertOneLineError(result, contains: "truncated or corrupt video")
        let (_, frames, end) = try readLog(path("cut.jsonl"))
        XCTAssertEqual(frames.count, 24)
        XCTAssertEqual(end?.status, .failed)
        XCTAssertEqual(end?.frames, 24)
        XCTAssertTrue(end?.error?.contains("truncated or corrupt video") ?? false)
    }

    func testADamagedIndexGivesIncreasingTimesAndOneWarning() throws {
        let intact = try DamagedMP4.intact(in: dir)
        let late = try DamagedMP4.compositionOffsets(intact, [10: 9000], name: "late.mp4")
        let result = try runProcess(trackd, ["track", late, "--out", path("late.jsonl"), "--mot-out", path("late.txt")])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(
            result.stderr,
            "trackd: warning: \(late): damaged index: 2 frames with a time that repeated or went back, "
                + "placed one frame duration after the previous frame\n")
        let (_, frames, end) = try readLog(path("late.jsonl"))
        XCTAssertEqual(frames.count, 50)
        XCTAssertTrue(zip(frames, frames.dropFirst()).allSatisfy { $1.time > $0.time }, "\(frames.map(\.time))")
        XCTAssertEqual(end?.status, .complete)
        XCTAssertEqual(end?.repairedTimes, 2)
        XCTAssertNil(end?.missingFrames)

        let early = try DamagedMP4.compositionOffsets(intact, [0: 516], name: "early.mp4")
        let second = try runProcess(trackd, ["track", early, "--out", path("early.jsonl")])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertTrue(second.stderr.contains("2 frames of those it declares never decoded"), second.stderr)
        XCTAssertEqual(second.stderr.filter { $0 == "\n" }.count, 1, second.stderr)
        XCTAssertEqual(try readLog(path("early.jsonl")).end?.missingFrames, 2)

        // probe --count says the same in its text as in its JSON.
        for (video, label, value) in [
            (early, "missing:", "2 frames the container declares never decoded"), (late, "repaired:", "2 frame times")
        ] {
            let text = try runProcess(trackd, ["probe", "--count", video])
            XCTAssertEqual(text.status, 0, text.stderr)
            let row = text.output.split(separator: "\n").first { $0.hasPrefix(label) }
            XCTAssertTrue(row?.contains(value) ?? false, text.output)
        }
    }

    /// A live sender that stops is a timeout, said as such, not a damaged video.
    func testASenderThatStopsIsATimeoutNotADamagedVideo() throws {
        let port = try freeUDPPort()
        nonisolated(unsafe) var result: ProcessResult?
        let ended = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [trackd, log = path("udp.jsonl")] in
            result = try? runProcess(trackd, ["track", "udp://127.0.0.1:\(port)", "-o", "timeout=2000000", "--out", log])
            ended.signal()
        }
        Thread.sleep(forTimeInterval: 1)
        // Ten seconds of video in real time (so that the reader is past its first
        // look at the stream), then nothing.
        let sent = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-re", "-stream_loop", "4", "-i", Fixtures.path("h264.mp4"), "-c", "copy", "-f", "mpegts",
                "udp://127.0.0.1:\(port)"
            ])
        XCTAssertEqual(sent.status, 0, sent.stderr)
        XCTAssertEqual(ended.wait(timeout: .now() + 60), .success)
        let track = try XCTUnwrap(result)
        XCTAssertEqual(track.status, 1)
        XCTAssertTrue(track.stderr.contains("timed out: nothing received in 2 s after"), track.stderr)
        XCTAssertFalse(track.stderr.contains("truncated"), track.stderr)
        let (_, frames, end) = try readLog(path("udp.jsonl"))
        XCTAssertEqual(end?.status, .failed)
        XCTAssertGreaterThan(frames.count, 150)
    }

    func testUnwritableOutputFailsBeforeAnyWork() throws {
        // The video does not exist either: the output is checked first.
        let result = try runProcess(trackd, ["track", path("missing.mp4"), "--out", path("no/such/dir/log.jsonl")])
        assertOneLineError(result, contains: "cannot create the track log")
        let missing = try runProcess(trackd, ["track", path("missing.mp4"), "--out", path("log.jsonl")])
        assertOneLineError(missing, contains: "file not found")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("log.jsonl")), "nothing left behind")
    }
}
