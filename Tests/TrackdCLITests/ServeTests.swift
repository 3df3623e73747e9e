import Foundation
import TestSupport
import TrackLog
import XCTest

/// `trackd serve` as a real subprocess on a temporary spool. Every wait is on the
/// condition a test checks (with a generous bound), never a fixed sleep; where
/// scenarios do not interfere, one daemon serves several of them.
final class ServeTests: XCTestCase {
    var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    var dir: URL!
    var spool: String { dir.appendingPathComponent("spool").path }
    private var daemons: [Process] = []
    var senders: [Process] = []

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }

    override func tearDownWithError() throws {
        // Whatever the test left running, passed or failed.
        for p in daemons + senders where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: - Clips, made once for the whole class

    private nonisolated(unsafe) static var clips: [String: String] = [:]
    private nonisolated(unsafe) static var clipDirectory: URL?

    override class func tearDown() {
        if let clipDirectory { try? FileManager.default.removeItem(at: clipDirectory) }
        clips = [:]
        clipDirectory = nil
    }

    /// vtest.avi's first `seconds` (10 frames a second) at 384x288, H.264 with a key
    /// frame every 10 frames (so that a stream receiver can start within a second), in
    /// an MP4 file called `name`.
    func clip(seconds: Int, name: String = "clip.mp4") throws -> String {
        let key = "\(seconds)/\(name)"
        if let made = Self.clips[key] { return made }
        let folder = try Self.clipDirectory ?? makeTemporaryDirectory()
        Self.clipDirectory = folder
        let sub = folder.appendingPathComponent(String(seconds))
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let path = sub.appendingPathComponent(name).path
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-y", "-i", try Deps.media("vtest.avi"), "-vf", "scale=384:288",
                "-t", String(seconds), "-c:v", "libx264", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", path
            ])
        guard made.status == 0 else { throw TestError.command("ffmpeg could not make \(name): \(made.stderr)") }
        Self.clips[key] = path
        return path
    }

    // MARK: - The daemon

    /// Writes a configuration for the temporary spool; `extra` adds fields.
    @discardableResult
    func config(_ extra: String = "", stableSeconds: Double = 0.3) throws -> String {
        let path = dir.appendingPathComponent("trackd.json").path
        try #"{"spool": "\#(spool)", "stableSeconds": \#(stableSeconds), "pollSeconds": 0.1\#(extra)}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func start(_ config: String, environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: trackd)
        p.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env.merge(environment) { $1 }
        p.environment = env
        let log = dir.appendingPathComponent("daemon-\(daemons.count).log")
        XCTAssertTrue(FileManager.default.createFile(atPath: log.path, contents: nil))
        // One handle for both, so that they share the file's offset.
        let handle = try FileHandle(forWritingTo: log)
        p.standardOutput = handle
        p.standardError = handle
        try spawn(p)
        daemons.append(p)
        return p
    }

    /// What the daemon started last has printed.
    func daemonLog() -> String {
        (try? String(contentsOf: dir.appendingPathComponent("daemon-\(max(daemons.count - 1, 0)).log"), encoding: .utf8)) ?? ""
    }

    func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + sub)) ?? []).sorted()
    }

    private func lineCount(_ path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    /// Polls `condition` until it holds; fails after `timeout` seconds, showing the daemon's log.
    func wait(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestError.command("timed out waiting for \(what); daemon log: \(daemonLog())")
    }

    /// Sends `signal` and returns the exit status and how long the exit took; a
    /// daemon that has not exited after 30 s is killed and the test fails.
    func stop(_ p: Process, _ signal: Int32 = SIGTERM) -> (Int32, Double) {
        let started = Date()
        kill(p.processIdentifier, signal)
        while p.isRunning, Date().timeIntervalSince(started) < 30 { Thread.sleep(forTimeInterval: 0.02) }
        let seconds = Date().timeIntervalSince(started)
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            XCTFail("the daemon did not exit within 30 s of signal \(signal)")
        }
        p.waitUntilExit()
        return (p.terminationStatus, seconds)
    }

    /// Copies a file into the inbox the way a well-behaved producer does: under a
    /// `.part` name, renamed when complete.
    private func drop(_ source: String, as name: String) throws {
        let part = spool + "/inbox/" + name + ".part"
        try FileManager.default.copyItem(atPath: source, toPath: part)
        XCTAssertEqual(rename(part, spool + "/inbox/" + name), 0)
    }

    /// The status file's entry for stream `name`.
    func stream(_ name: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: spool + "/status.json"),
            let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return (root["streams"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    func streamFrames(_ name: String) -> Int { stream(name)?["frames"] as? Int ?? 0 }

    // MARK: - Live streams

    /// FFmpeg options for a test stream: probe half a second of it, not FFmpeg's
    /// default five (the test streams have a key frame every 10 frames).
    let quickProbe = #""analyzeduration": "500000", "probesize": "65536""#

    /// ffmpeg sending `clip` as MPEG-TS over UDP to 127.0.0.1:`port` at twice its
    /// real-time rate (20 frames a second: a live source, but sooner through the
    /// test), in a loop until it is stopped.
    func startSender(_ clip: String, port: Int) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = [
            "-v", "error", "-readrate", "2", "-stream_loop", "-1", "-i", clip,
            "-c", "copy", "-f", "mpegts", "udp://127.0.0.1:\(port)?pkt_size=1316"
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try spawn(p)
        senders.append(p)
        return p
    }

    // MARK: - Spool jobs

    /// One daemon, three kinds of job: hostile ones refused without touching anything
    /// outside the spool, then good videos done and a corrupt one failed while the
    /// daemon keeps running, and the status file showing it all.
    func testHostileJobsAreRefusedGoodOnesDoneAndACorruptOneFails() throws {
        let daemon = try start(try config(#", "workers": 2, "maxJobBytes": 4096"#))
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/media") }
        let outside = dir.appendingPathComponent("outside.mp4").path
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: outside)
        try FileManager.default.createSymbolicLink(atPath: spool + "/media/escape.mp4", withDestinationPath: outside)
        // A FIFO would block the worker that opened it for good.
        XCTAssertEqual(mkfifo(spool + "/media/pipe.mp4", 0o600), 0)
        let jobs = [
            "fifo.json": #"{"video": "media/pipe.mp4"}"#,
            "traversal.json": #"{"video": "../outside.mp4"}"#,
            "absolute.json": #"{"video": "\#(outside)"}"#,
            "escape.json": #"{"video": "media/escape.mp4"}"#,
            "malformed.json": #"{"video": "media/x.mp4""#,
            "unknown.json": #"{"video": "media/x.mp4", "exec": "rm -rf /"}"#,
            "huge.json": #"{"video": "media/x.mp4", "pad": ""# + String(repeating: "x", count: 10_000) + #""}"#
        ]
        for (name, text) in jobs { try text.write(toFile: spool + "/inbox/" + name, atomically: true, encoding: .utf8) }
        try FileManager.default.createSymbolicLink(atPath: spool + "/inbox/passwd.mp4", withDestinationPath: "/etc/passwd")
        let refused = jobs.count + 1
        // Each job and its error file, not a count: the error file is written through
        // a temporary file in failed/, which a count would take for another job's.
        let names = Array(jobs.keys) + ["passwd.mp4"]
        try wait("every hostile job refused") {
            let failed = Set(files("failed"))
            return names.allSatisfy { failed.contains($0) && failed.contains($0 + ".error.json") }
        }
        XCTAssertEqual(files("failed").count, 2 * refused, "\(files("failed"))")
        for name in names {
            XCTAssertTrue(files("failed").contains(name + ".error.json"), name)
            XCTAssertTrue(daemonLog().contains("job refused: \(name)"), "\(name): \(daemonLog())")
        }
        XCTAssertEqual(files("done"), [])
        XCTAssertEqual(files("logs"), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside), "the file outside the spool is where it was")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/passwd"))
        var st = stat()
        XCTAssertEqual(lstat(spool + "/failed/passwd.mp4", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link itself was moved, not its target")
        XCTAssertTrue(daemon.isRunning)

        for (name, file) in [("a.mp4", "h264.mp4"), ("b.avi", "mjpeg.avi"), ("c.mp4", "vfr.mp4"), ("bad.mp4", "truncated.mp4")] {
            try drop(Fixtures.path(file), as: name)
        }
        // By name, not by count: the error file's temporary file in failed/ would count
        // as the error file itself.
        try wait("four jobs to end") {
            let failed = Set(files("failed"))
            return files("done").count == 3 && failed.contains("bad.mp4") && failed.contains("bad.mp4.error.json")
        }
        XCTAssertEqual(files("failed").count, 2 * refused + 2, "\(files("failed"))")
        XCTAssertEqual(files("done"), ["a.mp4", "b.avi", "c.mp4"])
        XCTAssertTrue(files("failed").contains("bad.mp4") && files("failed").contains("bad.mp4.error.json"))
        let report =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/failed/bad.mp4.error.json")))
            as? [String: Any]
        XCTAssertTrue(
            (report?["error"] as? String)?.contains("truncated or corrupt video") ?? false, "\(String(describing: report))")
        for (name, video) in [("a", "h264.mp4"), ("b", "mjpeg.avi"), ("c", "vfr.mp4")] {
            let log = try readLog(spool + "/logs/\(name).jsonl")
            XCTAssertEqual(log.end?.status, .complete, name)
            XCTAssertEqual(log.frames.count, try FFmpegCLI.frameTimes(Fixtures.path(video)).count, name)
        }
        XCTAssertEqual(try readLog(spool + "/logs/bad.jsonl").end?.status, .failed)
        XCTAssertTrue(daemon.isRunning, "the daemon survives a bad job")

        // The status file is rewritten every second.
        var status: ProcessResult?
        try wait("the status to show the jobs") {
            status = try runProcess(trackd, ["status", "--config", dir.appendingPathComponent("trackd.json").path])
            return status?.output.contains("jobs: 0 running, 3 done, \(refused + 1) failed") ?? false
        }
        XCTAssertEqual(status?.status, 0)
        XCTAssertTrue(status?.output.contains("bad.mp4") ?? false, status?.output ?? "")
        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0, daemonLog())
        // A daemon that is gone: exit 3 and one line, as `systemctl status` for an inactive unit.
        let dead = try runProcess(trackd, ["status", "--config", dir.appendingPathComponent("trackd.json").path])
        XCTAssertEqual(dead.status, 3)
        XCTAssertTrue(dead.output.isEmpty, dead.output)
        XCTAssertTrue(
            dead.stderr.hasPrefix("trackd: error: trackd serve is not running: its process \(daemon.processIdentifier) is gone"),
            dead.stderr)
        XCTAssertEqual(dead.stderr.filter { $0 == "\n" }.count, 1, dead.stderr)
        let none = try runProcess(trackd, ["status", "--status-file", dir.appendingPathComponent("none.json").path])
        XCTAssertEqual(none.status, 3)
        XCTAssertEqual(
            none.stderr,
            "trackd: error: trackd serve is not running: no status file at \(dir.appendingPathComponent("none.json").path)\n")
        XCTAssertLessThan(seconds, 5)
    }

    /// Jobs dropped under one name, or under names with one stem, each get a name of
    /// their own and keep their own log: none is replaced or removed by a later one, a
    /// failing one included.
    func testJobsWithTheSameNameKeepTheirOwnLogs() throws {
        let daemon = try start(try config(#", "workers": 3"#))
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/media") }
        try FileManager.default.copyItem(atPath: Fixtures.path("vfr.mp4"), toPath: spool + "/media/v.mp4")
        let drops = [("h264.mp4", "dup.mp4"), ("h264.mp4", "dup.mp4"), ("truncated.mp4", "dup.mp4"), ("mjpeg.avi", "cam.avi")]
        for (file, name) in drops {
            try drop(Fixtures.path(file), as: name)
            try wait("\(name) to be claimed") { files("inbox").isEmpty }
        }
        let part = spool + "/inbox/cam.json.part"
        try #"{"video": "media/v.mp4"}"#.write(toFile: part, atomically: false, encoding: .utf8)
        XCTAssertEqual(rename(part, spool + "/inbox/cam.json"), 0)
        try wait("every job to end") {
            files("done").count == 4 && Set(files("failed")) == ["dup-3.mp4", "dup-3.mp4.error.json"]
        }
        XCTAssertEqual(files("done"), ["cam-2.json", "cam.avi", "dup-2.mp4", "dup.mp4"])
        XCTAssertEqual(files("failed"), ["dup-3.mp4", "dup-3.mp4.error.json"])
        XCTAssertEqual(files("logs"), ["cam-2.jsonl", "cam.jsonl", "dup-2.jsonl", "dup-3.jsonl", "dup.jsonl"])
        for (log, video, status) in [
            ("dup", "h264.mp4", LogEnd.Status.complete), ("dup-2", "h264.mp4", .complete),
            ("cam", "mjpeg.avi", .complete), ("cam-2", "vfr.mp4", .complete)
        ] {
            let read = try readLog(spool + "/logs/\(log).jsonl")
            XCTAssertEqual(read.end?.status, status, log)
            XCTAssertEqual(read.frames.count, try FFmpegCLI.frameTimes(Fixtures.path(video)).count, log)
        }
        XCTAssertEqual(try readLog(spool + "/logs/dup-3.jsonl").end?.status, .failed)
        XCTAssertTrue(daemonLog().contains("job dup.mp4 is dup-2.mp4: another job had its name"), daemonLog())
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// Several models loading at once — three streams and two workers — never take the
    /// daemon's own messages away (model loading once pointed the process's stderr at
    /// /dev/null and, overlapping, left it there): after every load, each stream's and
    /// job's lines still arrive. Twice, since the old race hit 7 starts in 8.
    func testLogLinesArriveAfterSeveralModelsLoadAtOnce() throws {
        for run in 0..<2 {
            try? FileManager.default.removeItem(atPath: spool)
            // Streams that cannot open (no such file) retry every 0.2 s: a steady source of lines.
            let streams = (1...3).map {
                #"{"name": "cam\#($0)", "url": "\#(dir.path)/none-\#($0).mp4", "retryInitialSeconds": 0.2, "retryMaxSeconds": 0.2}"#
            }
            let daemon = try start(try config(#", "workers": 2, "streams": [\#(streams.joined(separator: ", "))]"#))
            try wait("the spool (run \(run))") { FileManager.default.fileExists(atPath: spool + "/inbox") }
            try drop(Fixtures.path("h264.mp4"), as: "a.mp4")
            try drop(Fixtures.path("h264.mp4"), as: "b.mp4")
            try wait("both jobs' lines (run \(run))") {
                ["a", "b"].allSatisfy { daemonLog().contains("job \($0).mp4: 60 frames") }
            }
            let loaded = daemonLog().count
            try wait("every stream's lines after the loads (run \(run))") {
                let since = String(daemonLog().dropFirst(loaded))
                return (1...3).allSatisfy { since.contains("stream cam\($0): ") }
            }
            XCTAssertEqual(stop(daemon).0, 0)
            XCTAssertTrue(daemonLog().hasSuffix("stopped\n"), daemonLog())
        }
    }

    /// A `.part` file is never claimed, and a file that is still growing is claimed
    /// only once it has stopped changing, whole. (`SpoolTests` checks the timing rule
    /// itself with a given clock.)
    func testFilesStillBeingWrittenAreLeftAlone() throws {
        let daemon = try start(try config(stableSeconds: 1))
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        let video = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("h264.mp4")))
        // A copy in progress under a .part name, and one growing under its final name:
        // written in two halves, well within stableSeconds of each other.
        try video.write(to: URL(fileURLWithPath: spool + "/inbox/a.mp4.part"))
        let growing = spool + "/inbox/b.mp4"
        try video.prefix(video.count / 2).write(to: URL(fileURLWithPath: growing))
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: growing))
        try handle.seekToEnd()
        try handle.write(contentsOf: video.suffix(from: video.count / 2))
        try handle.close()
        try wait("the grown file's job to finish") { files("done") == ["b.mp4"] }
        XCTAssertEqual(try readLog(spool + "/logs/b.jsonl").frames.count, 60, "the whole file was tracked")
        XCTAssertEqual(files("inbox"), ["a.mp4.part"], "a .part file is never claimed")
        XCTAssertEqual(rename(spool + "/inbox/a.mp4.part", spool + "/inbox/a.mp4"), 0)
        try wait("the renamed file's job to finish") { files("done") == ["a.mp4", "b.mp4"] }
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A job stopped mid-way by SIGTERM, the daemon started again and killed mid-way
    /// (kill -9) through the rerun, and started once more: the job completes, every
    /// frame once and in order, and both partial logs are kept.
    func testAJobStoppedBySIGTERMAndByKillMinus9CompletesAfterRestarts() throws {
        let street = try clip(seconds: 15, name: "street.mp4")
        let frameCount = try FFmpegCLI.frameTimes(street).count
        let config = try config()
        let log = spool + "/logs/street.jsonl"

        let first = try start(config)
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/inbox") }
        try drop(street, as: "street.mp4")
        try wait("the job to be under way") { lineCount(log) > 30 }
        let (code, seconds) = stop(first, SIGTERM)
        XCTAssertEqual(code, 0, daemonLog())
        XCTAssertLessThan(seconds, 5, "graceful stop within 5 s")
        XCTAssertEqual(try readLog(log).end?.status, .interrupted)
        XCTAssertEqual(files("processing"), ["street.mp4"], "left for the next start")
        let stoppedFrames = try readLog(log).frames.count
        XCTAssertLessThan(stoppedFrames, frameCount)

        let second = try start(config)
        let kept = spool + "/logs/street.interrupted-1.jsonl"
        try wait("the rerun to be under way") { FileManager.default.fileExists(atPath: kept) && lineCount(log) > 30 }
        _ = stop(second, SIGKILL)
        XCTAssertEqual(files("processing"), ["street.mp4"], "left for the next start")
        let killedFrames = try readLog(log).frames.count
        XCTAssertLessThan(killedFrames, frameCount)

        let third = try start(config)
        try wait("the job to finish after the restarts") { files("done") == ["street.mp4"] }
        let final = try readLog(log)
        XCTAssertEqual(final.end?.status, .complete)
        XCTAssertEqual(final.frames.map(\.frame), Array(0..<frameCount), "every frame once, in order")
        let afterSIGTERM = try readLog(kept)
        XCTAssertEqual(afterSIGTERM.frames.count, stoppedFrames, "the partial log is kept, not overwritten")
        XCTAssertEqual(afterSIGTERM.end?.status, .interrupted)
        let afterKill = try readLog(spool + "/logs/street.interrupted-2.jsonl")
        XCTAssertEqual(afterKill.frames.count, killedFrames, "the second partial log is kept too")
        XCTAssertNil(afterKill.end, "killed: no end line")
        XCTAssertEqual(files("processing"), [])
        XCTAssertEqual(stop(third).0, 0)
    }

    func testSIGHUPReloadsTheConfiguration() throws {
        let path = try config()
        let daemon = try start(path)
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        _ = try config(#", "workers": 3"#)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the reload") { daemonLog().contains("reloaded \(path)") }
        try #"{"workers": "many"}"#.write(toFile: path, atomically: true, encoding: .utf8)
        kill(daemon.processIdentifier, SIGHUP)
        try wait("the refusal") { daemonLog().contains("keeping the running configuration") }
        XCTAssertTrue(daemonLog().contains("workers: must be a number"), daemonLog())
        XCTAssertTrue(daemon.isRunning)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    // MARK: - Live streams

    /// Three streams in one daemon, each its own scenario:
    /// - cam1 is tracked; when its sender stops the daemon notices within the default
    ///   network timeout (cam1 sets none) and retries with back-off, and when the
    ///   sender comes back tracking resumes in the same stream log;
    /// - cam2's log rotates every second;
    /// - cam3 never answers and FFmpeg would wait for it forever (timeout 0), yet
    ///   SIGTERM stops the daemon promptly, and cam3 is never retried.
    func testLiveStreamsReconnectRotateAndNeverBlockAStop() throws {
        let clip = try clip(seconds: 4)
        let ports = try (0..<3).map { _ in try freeUDPPort() }
        let daemon = try start(
            try config(
                #", "streams": ["#
                    + #"{"name": "cam1", "url": "udp://127.0.0.1:\#(ports[0])", "options": {\#(quickProbe)}, "retryInitialSeconds": 0.5, "retryMaxSeconds": 2}, "#
                    + #"{"name": "cam2", "url": "udp://127.0.0.1:\#(ports[1])", "options": {\#(quickProbe)}, "rotateSeconds": 1}, "#
                    + #"{"name": "cam3", "url": "udp://127.0.0.1:\#(ports[2])", "options": {"timeout": "0"}}]"#))
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        var cam1 = try startSender(clip, port: ports[0])
        _ = try startSender(clip, port: ports[1])

        try wait("frames from cam1") { streamFrames("cam1") >= 20 }
        stopChild(cam1)
        cam1.waitUntilExit()
        let silence = Date()
        try wait("the daemon to notice and retry") { (stream("cam1")?["reconnects"] as? Int ?? 0) >= 1 }
        XCTAssertLessThan(Date().timeIntervalSince(silence), 30, "noticed after the 5 s timeout, not never")
        XCTAssertTrue((stream("cam1")?["lastError"] as? String ?? "").contains("udp://"), "\(stream("cam1") ?? [:])")
        let before = streamFrames("cam1")
        cam1 = try startSender(clip, port: ports[0])
        try wait("tracking to resume") { streamFrames("cam1") >= before + 20 }
        XCTAssertEqual(stream("cam1")?["state"] as? String, "tracking")
        try wait("cam2's log to rotate") { files("logs/streams/cam2").count >= 2 && streamFrames("cam2") >= 20 }
        XCTAssertEqual(stream("cam3")?["state"] as? String, "connecting")

        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0, daemonLog())
        XCTAssertLessThan(seconds, 5)
        XCTAssertFalse(daemonLog().contains("stream cam3: ") && daemonLog().contains("retrying"), daemonLog())

        let cam1Logs = files("logs/streams/cam1")
        XCTAssertEqual(cam1Logs.count, 1, "one stream log across the reconnection: \(cam1Logs)")
        let log = try readLog(spool + "/logs/streams/cam1/" + cam1Logs[0])
        XCTAssertEqual(log.end?.status, .interrupted)
        XCTAssertGreaterThanOrEqual(log.frames.count, before + 20)
        XCTAssertTrue(zip(log.frames, log.frames.dropFirst()).allSatisfy { $0.time < $1.time }, "times keep increasing")
        // (Dropped frames leave gaps; the reconnection must not start again from 0.)
        XCTAssertTrue(
            zip(log.frames, log.frames.dropFirst()).allSatisfy { $0.frame < $1.frame },
            "frame indices go on across the reconnection: \(log.frames.map(\.frame))")
        XCTAssertFalse(log.frames.flatMap(\.tracks).isEmpty, "people tracked in the stream")

        let cam2Logs = files("logs/streams/cam2")
        var total = 0
        for (k, name) in cam2Logs.enumerated() {
            let rotated = try readLog(spool + "/logs/streams/cam2/" + name)
            XCTAssertEqual(rotated.end?.status, k == cam2Logs.count - 1 ? .interrupted : .complete, name)
            total += rotated.frames.count
        }
        XCTAssertGreaterThanOrEqual(total, 20)
        XCTAssertEqual(files("logs/streams/cam3"), [], "cam3 never opened a log")
    }

    func testUnitFilePassesSystemdAnalyzeVerify() throws {
        // The unit as installed, pointed at the binary under test.
        let unit = try String(contentsOf: Deps.repository.appendingPathComponent("systemd/trackd.service"), encoding: .utf8)
            .replacingOccurrences(of: "/usr/local/bin/trackd", with: trackd)
        let path = dir.appendingPathComponent("trackd.service").path
        try unit.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runProcess("systemd-analyze", ["verify", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr, "")
        XCTAssertTrue(unit.contains("Type=notify") && unit.contains("WatchdogSec=") && unit.contains("ProtectSystem=strict"))
        // The example configuration is valid.
        let example = Deps.repository.appendingPathComponent("systemd/trackd.json").path
        let check = try runProcess(trackd, ["status", "--config", example, "--json"])
        XCTAssertFalse(check.stderr.contains("trackd.json:"), check.stderr)
    }

    func testInvalidConfigurationIsRefusedNamingTheField() throws {
        for (text, field) in [
            (#"{"workers": 0}"#, "workers"), (#"{"spool": "relative"}"#, "spool"),
            (#"{"streams": [{"name": "cam"}]}"#, "streams[0].url"), (#"{"tracker": {"matchIOU": 1}}"#, "tracker"),
            (#"{"worker": 2}"#, "worker: unknown field")
        ] {
            let path = dir.appendingPathComponent("bad.json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try runProcess(trackd, ["serve", "--config", path])
            assertOneLineError(result, contains: field)
        }
        assertOneLineError(
            try runProcess(trackd, ["serve", "--config", dir.appendingPathComponent("none.json").path]),
            contains: "cannot read it")
    }

    /// A stand-in for systemd's notification socket: a Unix datagram socket.
    final class NotifySocket {
        let path: String
        private let fd: Int32
        private(set) var messages: [String] = []

        init(path: String) {
            self.path = path
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (i, b) in path.utf8.enumerated() { raw[i] = b }
            }
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit { close(fd) }

        /// Collects messages until one satisfies `wanted`, for at most `timeout` seconds;
        /// returns that message, or nil.
        @discardableResult
        func receive(timeout: Double = 30, until wanted: (String) -> Bool) -> String? {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                messages.append(text)
                if wanted(text) { return text }
            }
            return nil
        }

        /// Collects messages until one has a line equal to `line`.
        func receive(line: String, timeout: Double = 30) -> Bool {
            receive(timeout: timeout) { $0.split(separator: "\n").contains(Substring(line)) } != nil
        }
    }

    /// The notifications systemd needs, each at its moment: READY=1 once the spool is
    /// made and before any WATCHDOG=1; WATCHDOG=1 with a STATUS line while the daemon
    /// is idle and while a stream's frames flow; STOPPING=1 on SIGTERM. A source that
    /// goes silent (its sender gone while FFmpeg waits without a timeout) is reported
    /// `silent` in the status, and the watchdog is still fed long past `stallSeconds`:
    /// one quiet camera must not get the service restarted.
    func testSystemdNotificationsAndASilentSourceKeepsTheWatchdogFed() throws {
        let clip = try clip(seconds: 4)
        let port = try freeUDPPort()
        let notify = NotifySocket(path: dir.appendingPathComponent("notify.sock").path)
        let daemon = try start(
            try config(
                #", "stallSeconds": 2, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {"timeout": "0", \#(quickProbe)}}]"#
            ),
            environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        XCTAssertTrue(notify.receive(line: "READY=1", timeout: 60), "\(notify.messages)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/inbox"), "READY after the spool is made")
        XCTAssertFalse(notify.messages.joined().contains("WATCHDOG=1"), "READY comes first")
        // Idle, waiting for the stream: not a stall.
        let idle = notify.receive { $0.contains("WATCHDOG=1") }
        XCTAssertTrue(idle?.contains("STATUS=0 jobs running") ?? false, "\(notify.messages)")

        let sender = try startSender(clip, port: port)
        XCTAssertNotNil(
            notify.receive(timeout: 60) { $0.contains("WATCHDOG=1") && $0.contains("1/1 streams tracking") },
            "fed while frames flow: \(notify.messages)")
        stopChild(sender)
        sender.waitUntilExit()
        // Frames still queued may be tracked late on a busy machine; then the source
        // has sent nothing for 5 s and the stream is silent. Every status from then on,
        // over more than twice stallSeconds, still comes with WATCHDOG=1.
        XCTAssertNotNil(notify.receive(timeout: 60) { $0.contains("1 silent") }, "\(notify.messages)")
        let silentFrom = notify.messages.count - 1
        var fedInARow = 0
        notify.receive(timeout: 30) { message in
            fedInARow = message.contains("WATCHDOG=1") && message.contains("1 silent") ? fedInARow + 1 : 0
            return fedInARow == 5
        }
        let since = notify.messages[silentFrom...]
        XCTAssertEqual(fedInARow, 5, "\(since)")
        XCTAssertFalse(since.contains { $0.contains("stalled") }, "\(since)")
        XCTAssertEqual(stream("cam")?["state"] as? String, "silent")
        XCTAssertGreaterThanOrEqual(stream("cam")?["silentSeconds"] as? Int ?? 0, 5)
        XCTAssertEqual(stream("cam")?["framesPerSecond"] as? Double, 0)
        let status = try runProcess(trackd, ["status", "--status-file", spool + "/status.json"])
        XCTAssertTrue(status.output.contains("cam: silent"), status.output)
        XCTAssertTrue(daemonLog().contains("stream cam: its source has sent nothing"), daemonLog())
        XCTAssertFalse(daemonLog().contains("not feeding the watchdog"), daemonLog())

        kill(daemon.processIdentifier, SIGTERM)
        XCTAssertTrue(notify.receive(line: "STOPPING=1"), "\(notify.messages)")
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
    }

    func testAStreamWithAnOptionItsInputDoesNotTakeStopsInsteadOfRetrying() throws {
        // rtsp_transport is an FFmpeg option (so the configuration loads), but a file
        // source does not take it: every attempt would fail the same way.
        let video = try clip(seconds: 1)
        let daemon = try start(
            try config(
                #", "streams": [{"name": "cam", "url": "\#(video)", "options": {"rtsp_transport": "tcp"}, "retryInitialSeconds": 0.1}]"#
            ))
        try wait("the stream to stop") { stream("cam")?["state"] as? String == "stopped" }
        XCTAssertEqual(stream("cam")?["reconnects"] as? Int, 0)
        XCTAssertTrue((stream("cam")?["lastError"] as? String ?? "").contains("rtsp_transport"), "\(stream("cam") ?? [:])")
        XCTAssertTrue(daemonLog().contains("not retrying: fix the stream's options"), daemonLog())
        XCTAssertTrue(daemon.isRunning, "the daemon keeps running")
        XCTAssertEqual(stop(daemon).0, 0, daemonLog())
    }
}
