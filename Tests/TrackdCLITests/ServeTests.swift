import Detection
import Foundation
import Service
import TestSupport
import TrackLog
import Tracking
import XCTest

/// `trackd serve` as a real subprocess on a temporary spool.
final class ServeTests: XCTestCase {
    private var trackd: String { productsDirectory.appendingPathComponent("trackd").path }
    private var dir: URL!
    private var spool: String { dir.appendingPathComponent("spool").path }
    private var daemons: [Process] = []

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }

    override func tearDownWithError() throws {
        for p in daemons where p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: dir)
    }

    /// Writes a configuration for the temporary spool; `extra` adds fields.
    private func config(_ extra: String = "", stableSeconds: Double = 0.3) throws -> String {
        let path = dir.appendingPathComponent("trackd.json").path
        try #"{"spool": "\#(spool)", "stableSeconds": \#(stableSeconds), "pollSeconds": 0.1\#(extra)}"#
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func start(_ config: String, environment: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: trackd)
        p.arguments = ["serve", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["NOTIFY_SOCKET"] = nil
        env.merge(environment) { $1 }
        p.environment = env
        let log = dir.appendingPathComponent("daemon-\(daemons.count).log")
        XCTAssertTrue(FileManager.default.createFile(atPath: log.path, contents: nil))
        p.standardOutput = try FileHandle(forWritingTo: log)
        p.standardError = try FileHandle(forWritingTo: log)
        try p.run()
        daemons.append(p)
        return p
    }

    private func daemonLog(_ k: Int = 0) -> String {
        (try? String(contentsOf: dir.appendingPathComponent("daemon-\(k).log"), encoding: .utf8)) ?? ""
    }

    private func files(_ sub: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + sub)) ?? []).sorted()
    }

    private func wait(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw TestError.command("timed out waiting for \(what); daemon log: \(daemonLog(daemons.count - 1))")
    }

    /// Sends `signal` and returns the exit status and how long the exit took; a
    /// daemon that has not exited after 30 s is killed and the test fails.
    private func stop(_ p: Process, _ signal: Int32 = SIGTERM) -> (Int32, Double) {
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

    /// A short H.264 clip of vtest.avi at 384x288 with frequent key frames, to send
    /// as a live stream.
    private func makeClip(seconds: Int) throws -> String {
        let clip = dir.appendingPathComponent("clip.mp4").path
        let made = try runProcess("ffmpeg", ["-v", "error", "-y", "-i", try Deps.media("vtest.avi"), "-vf", "scale=384:288",
                                              "-t", String(seconds), "-c:v", "libx264", "-g", "10", "-bf", "0", "-pix_fmt", "yuv420p", clip])
        XCTAssertEqual(made.status, 0, made.stderr)
        return clip
    }

    /// ffmpeg sending `clip` as MPEG-TS over UDP to 127.0.0.1:`port` in real time, in a
    /// loop or for `seconds`.
    private func startSender(_ clip: String, port: Int, seconds: Int? = nil) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/ffmpeg")
        p.arguments = ["-v", "error", "-re"] + (seconds == nil ? ["-stream_loop", "-1"] : []) + ["-i", clip]
            + (seconds.map { ["-t", String($0)] } ?? []) + ["-c", "copy", "-f", "mpegts", "udp://127.0.0.1:\(port)?pkt_size=1316"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    func testGoodVideosAreDoneAndACorruptOneFailsWhileTheDaemonRuns() throws {
        let daemon = try start(try config(#", "workers": 2"#))
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/inbox") }
        for (name, file) in [("a.mp4", "h264.mp4"), ("b.avi", "mjpeg.avi"), ("c.mp4", "vfr.mp4"), ("bad.mp4", "truncated.mp4")] {
            try drop(Fixtures.path(file), as: name)
        }
        try wait("four jobs to end") { files("done").count == 3 && files("failed").count == 2 }
        XCTAssertEqual(files("done"), ["a.mp4", "b.avi", "c.mp4"])
        XCTAssertEqual(files("failed"), ["bad.mp4", "bad.mp4.error.json"])
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/failed/bad.mp4.error.json"))) as? [String: Any]
        XCTAssertTrue((report?["error"] as? String)?.contains("truncated or corrupt video") ?? false, "\(String(describing: report))")
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
            return status?.output.contains("jobs: 0 running, 3 done, 1 failed") ?? false
        }
        XCTAssertEqual(status?.status, 0)
        XCTAssertTrue(status?.output.contains("bad.mp4") ?? false, status?.output ?? "")
        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0, daemonLog())
        XCTAssertLessThan(seconds, 5)
    }

    func testFilesStillBeingWrittenAreLeftAlone() throws {
        let daemon = try start(try config(stableSeconds: 1.5))
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        let video = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("h264.mp4")))
        // A copy in progress under a .part name, and one growing under its final name.
        try video.write(to: URL(fileURLWithPath: spool + "/inbox/a.mp4.part"))
        let growing = spool + "/inbox/b.mp4"
        try video.prefix(video.count / 2).write(to: URL(fileURLWithPath: growing))
        for _ in 0..<3 {
            Thread.sleep(forTimeInterval: 0.5)
            XCTAssertEqual(files("inbox"), ["a.mp4.part", "b.mp4"], "nothing claimed yet")
        }
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: growing))
        try handle.seekToEnd()
        try handle.write(contentsOf: video.suffix(from: video.count / 2))
        try handle.close()
        Thread.sleep(forTimeInterval: 0.5)
        XCTAssertEqual(files("inbox"), ["a.mp4.part", "b.mp4"], "changed again: the wait starts over")
        XCTAssertEqual(rename(spool + "/inbox/a.mp4.part", spool + "/inbox/a.mp4"), 0)
        try wait("both jobs to finish") { files("done") == ["a.mp4", "b.mp4"] }
        XCTAssertEqual(try readLog(spool + "/logs/b.jsonl").frames.count, 60, "the whole file was tracked")
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A long job stopped mid-way by `signal`, then the daemon started again.
    private func interruptAndResume(_ signal: Int32) throws {
        let config = try config()
        let first = try start(config)
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/inbox") }
        try drop(try Deps.media("vtest.avi"), as: "street.avi")
        let log = spool + "/logs/street.jsonl"
        try wait("the job to be under way") {
            ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count > 30
        }
        let (code, seconds) = stop(first, signal)
        if signal == SIGTERM {
            XCTAssertEqual(code, 0, daemonLog())
            XCTAssertLessThan(seconds, 5, "graceful stop within 5 s")
            XCTAssertEqual(try readLog(log).end?.status, .interrupted)
        }
        XCTAssertEqual(files("processing"), ["street.avi"], "left for the next start")
        let partialFrames = try readLog(log).frames.count

        let second = try start(config)
        try wait("the job to finish after the restart", timeout: 120) { files("done") == ["street.avi"] }
        let final = try readLog(log)
        XCTAssertEqual(final.end?.status, .complete)
        XCTAssertEqual(final.frames.map(\.frame), Array(0..<795), "every frame once, in order")
        let kept = try readLog(spool + "/logs/street.interrupted-1.jsonl")
        XCTAssertEqual(kept.frames.count, partialFrames, "the partial log is kept, not overwritten")
        XCTAssertEqual(kept.end?.status, signal == SIGTERM ? .interrupted : nil)
        XCTAssertEqual(files("processing"), [])
        XCTAssertEqual(stop(second).0, 0)
    }

    func testSIGTERMMidJobThenRestartCompletesIt() throws {
        try interruptAndResume(SIGTERM)
    }

    func testKillMinus9MidJobThenRestartCompletesIt() throws {
        try interruptAndResume(SIGKILL)
    }

    func testHostileJobsAreRefusedAndNothingOutsideTheSpoolIsTouched() throws {
        let daemon = try start(try config(#", "maxJobBytes": 4096"#))
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/media") }
        let outside = dir.appendingPathComponent("outside.mp4").path
        try FileManager.default.copyItem(atPath: Fixtures.path("h264.mp4"), toPath: outside)
        try FileManager.default.createSymbolicLink(atPath: spool + "/media/escape.mp4", withDestinationPath: outside)
        let jobs = [
            "traversal.json": #"{"video": "../outside.mp4"}"#,
            "absolute.json": #"{"video": "\#(outside)"}"#,
            "escape.json": #"{"video": "media/escape.mp4"}"#,
            "malformed.json": #"{"video": "media/x.mp4""#,
            "unknown.json": #"{"video": "media/x.mp4", "exec": "rm -rf /"}"#,
            "huge.json": #"{"video": "media/x.mp4", "pad": ""# + String(repeating: "x", count: 10_000) + #""}"#,
        ]
        for (name, text) in jobs { try text.write(toFile: spool + "/inbox/" + name, atomically: true, encoding: .utf8) }
        try FileManager.default.createSymbolicLink(atPath: spool + "/inbox/passwd.mp4", withDestinationPath: "/etc/passwd")
        let refused = jobs.count + 1
        try wait("every hostile job refused") { files("failed").count == 2 * refused }
        for name in Array(jobs.keys) + ["passwd.mp4"] {
            XCTAssertTrue(files("failed").contains(name + ".error.json"), name)
            XCTAssertTrue(daemonLog().contains("job refused: \(name)"), name)
        }
        XCTAssertEqual(files("done"), [])
        XCTAssertEqual(files("logs"), [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: outside), "the file outside the spool is where it was")
        XCTAssertTrue(FileManager.default.fileExists(atPath: "/etc/passwd"))
        var st = stat()
        XCTAssertEqual(lstat(spool + "/failed/passwd.mp4", &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFLNK, "the link itself was moved, not its target")
        XCTAssertTrue(daemon.isRunning)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A live stream sent by ffmpeg over UDP on loopback: tracked; when the sender
    /// stops the daemon retries with back-off; when it comes back, tracking resumes in
    /// the same stream log.
    func testLiveStreamIsTrackedAndSurvivesTheSenderGoingAway() throws {
        let clip = try makeClip(seconds: 20)
        let port = 20_000 + Int(getpid() % 20_000)
        let daemon = try start(try config(#", "streams": [{"name": "cam1", "url": "udp://127.0.0.1:\#(port)", "options": {"timeout": "2000000"}, "retryInitialSeconds": 0.5, "retryMaxSeconds": 2}]"#))
        func sender() throws -> Process { try startSender(clip, port: port) }
        func stream() throws -> [String: Any]? {
            guard let data = FileManager.default.contents(atPath: spool + "/status.json"),
                  let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return (root["streams"] as? [[String: Any]])?.first
        }
        var first = try sender()
        defer { if first.isRunning { first.terminate() } }
        try wait("frames from the stream") { (try stream()?["frames"] as? Int ?? 0) >= 20 }
        first.terminate()
        first.waitUntilExit()
        try wait("the daemon to notice and retry") { (try stream()?["reconnects"] as? Int ?? 0) >= 1 }
        let before = try stream()?["frames"] as? Int ?? 0
        first = try sender()
        try wait("tracking to resume") { (try stream()?["frames"] as? Int ?? 0) >= before + 20 }
        XCTAssertEqual(try stream()?["state"] as? String, "tracking")
        first.terminate()
        XCTAssertEqual(stop(daemon).0, 0)

        let logs = try FileManager.default.contentsOfDirectory(atPath: spool + "/logs/streams/cam1")
        XCTAssertEqual(logs.count, 1, "one stream log across the reconnection: \(logs)")
        let log = try readLog(spool + "/logs/streams/cam1/" + logs[0])
        XCTAssertEqual(log.end?.status, .interrupted)
        XCTAssertGreaterThanOrEqual(log.frames.count, before + 20)
        XCTAssertTrue(zip(log.frames, log.frames.dropFirst()).allSatisfy { $0.time < $1.time }, "times keep increasing")
        XCTAssertFalse(log.frames.flatMap(\.tracks).isEmpty, "people tracked in the stream")
    }

    func testStopsPromptlyWhileAStreamNeverAnswers() throws {
        // Nobody sends, and FFmpeg would wait forever (timeout 0) to open the stream.
        let port = 20_000 + Int((getpid() + 21) % 20_000)
        let daemon = try start(try config(#", "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {"timeout": "0"}}]"#))
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        Thread.sleep(forTimeInterval: 3)
        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0, daemonLog())
        XCTAssertLessThan(seconds, 5)
        XCTAssertFalse(daemonLog().contains("retrying"), daemonLog())
    }

    func testStreamLogsRotate() throws {
        let clip = try makeClip(seconds: 10)
        let port = 20_000 + Int((getpid() + 13) % 20_000)
        let daemon = try start(try config(#", "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "rotateSeconds": 2}]"#))
        try wait("the daemon to be ready") { daemonLog().contains("serving ") }
        try startSender(clip, port: port, seconds: 9).waitUntilExit()
        XCTAssertEqual(stop(daemon).0, 0)
        let dirPath = spool + "/logs/streams/cam"
        let logs = try FileManager.default.contentsOfDirectory(atPath: dirPath).sorted()
        XCTAssertGreaterThanOrEqual(logs.count, 2, "\(logs)")
        var total = 0
        for (k, name) in logs.enumerated() {
            let log = try readLog(dirPath + "/" + name)
            XCTAssertEqual(log.end?.status, k == logs.count - 1 ? .interrupted : .complete, name)
            total += log.frames.count
        }
        XCTAssertGreaterThan(total, 30)
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
        for (text, field) in [(#"{"workers": 0}"#, "workers"), (#"{"spool": "relative"}"#, "spool"),
                              (#"{"streams": [{"name": "cam"}]}"#, "streams[0].url"), (#"{"tracker": {"matchIOU": 1}}"#, "tracker"),
                              (#"{"worker": 2}"#, "worker: unknown field")] {
            let path = dir.appendingPathComponent("bad.json").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try runProcess(trackd, ["serve", "--config", path])
            assertOneLineError(result, contains: field)
        }
        assertOneLineError(try runProcess(trackd, ["serve", "--config", dir.appendingPathComponent("none.json").path]),
                           contains: "cannot read it")
    }

    /// A stand-in for systemd's notification socket: a Unix datagram socket.
    private final class NotifySocket {
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

        /// Collects messages for up to `seconds`, stopping early at a line equal to `wanted`.
        @discardableResult
        func receive(until wanted: String? = nil, seconds: Double) -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let n = recv(fd, &buffer, buffer.count, 0)
                guard n > 0 else { continue }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                messages.append(text)
                if let wanted, text.split(separator: "\n").contains(Substring(wanted)) { return true }
            }
            return false
        }
    }

    func testSystemdNotificationsArriveAtTheRightMoments() throws {
        let notify = NotifySocket(path: dir.appendingPathComponent("notify.sock").path)
        func receive(until wanted: String, seconds: Double) -> Bool { notify.receive(until: wanted, seconds: seconds) }
        var messages: [String] { notify.messages }

        let daemon = try start(try config(), environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "3000000"])
        XCTAssertTrue(receive(until: "READY=1", seconds: 60), "\(messages)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: spool + "/inbox"), "READY after the spool is made")
        XCTAssertFalse(messages.joined().contains("WATCHDOG=1"), "READY comes first")
        XCTAssertTrue(receive(until: "WATCHDOG=1", seconds: 5), "\(messages)")
        XCTAssertTrue(messages.last?.contains("STATUS=0 jobs running") ?? false, "\(messages)")
        kill(daemon.processIdentifier, SIGTERM)
        XCTAssertTrue(receive(until: "STOPPING=1", seconds: 5), "\(messages)")
        daemon.waitUntilExit()
        XCTAssertEqual(daemon.terminationStatus, 0)
    }

    /// A stream whose sender goes silent while FFmpeg waits for it without a timeout:
    /// no frame for `stallSeconds`, so the watchdog is no longer fed.
    func testAStalledStreamStopsFeedingTheWatchdog() throws {
        let clip = try makeClip(seconds: 10)
        let port = 20_000 + Int((getpid() + 7) % 20_000)
        let notify = NotifySocket(path: dir.appendingPathComponent("notify.sock").path)
        // timeout 0: FFmpeg waits for UDP data forever, as a hung source would.
        let daemon = try start(try config(#", "stallSeconds": 2, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {"timeout": "0"}}]"#),
                               environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        XCTAssertTrue(notify.receive(until: "READY=1", seconds: 60))
        try startSender(clip, port: port, seconds: 4).waitUntilExit()
        notify.receive(seconds: 0.5)  // what arrived meanwhile
        // While frames flowed the watchdog was fed; now the source is silent.
        XCTAssertTrue(notify.messages.contains { $0.contains("WATCHDOG=1") && $0.contains("1/1 streams tracking") }, "\(notify.messages)")
        notify.receive(seconds: 3)  // the stall sets in (2 s)
        let before = notify.messages.count
        notify.receive(seconds: 3)
        let after = notify.messages[before...]
        XCTAssertFalse(after.isEmpty, "status still reported")
        XCTAssertFalse(after.contains { $0.contains("WATCHDOG=1") }, "\(after)")
        XCTAssertTrue(after.allSatisfy { $0.contains("STATUS=stalled") }, "\(after)")
        XCTAssertTrue(daemonLog().contains("not feeding the watchdog"))
        XCTAssertEqual(stop(daemon).0, 0)
    }
}

/// The service's `tracker` keys sit on top of the detector's own preset, as
/// `trackd track --config` does.
final class ServiceConfigTests: XCTestCase {
    func testTrackerKeysOverrideTheDetectorPreset() throws {
        let preset = try ServiceConfig.parse(Data(#"{"tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(preset.tracker.highScore, DefaultModel.tracker.highScore)
        XCTAssertEqual(preset.tracker.maxLostSeconds, 2)
        XCTAssertEqual(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").tracker, DefaultModel.tracker)
        let own = try ServiceConfig.parse(Data(#"{"detector": {"model": "m.onnx"}, "tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(own.tracker.highScore, TrackerConfig().highScore)
        XCTAssertEqual(own.tracker.maxLostSeconds, 2)
    }
}
