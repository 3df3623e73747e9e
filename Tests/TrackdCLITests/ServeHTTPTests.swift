import Foundation
import TestSupport
import XCTest

@testable import Render

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `trackd serve`'s HTTP API, asked over loopback as a client would, on the daemon
/// and spool that `ServeTests` runs.
extension ServeTests {
    struct Answer {
        var status: Int
        var json: [String: Any]
        var contentType: String
    }

    func get(_ url: String, token: String? = nil, post body: String? = nil, delete: Bool = false) async throws -> Answer {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if delete { request.httpMethod = "DELETE" }
        if let body {
            request.httpMethod = "POST"
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, http) = try await fetch(request)
        let json = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: data) as? [String: Any], String(decoding: data, as: UTF8.self))
        return Answer(status: http.statusCode, json: json, contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "")
    }

    func fetch(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await URLSession.shared.data(for: request)
        return (data, try XCTUnwrap(response as? HTTPURLResponse))
    }

    /// The address the daemon's status says it listens on, once it does.
    func listeningAddress() throws -> String {
        var address = ""
        try wait("the HTTP API to listen") {
            guard let data = FileManager.default.contents(atPath: spool + "/status.json"),
                let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let http = status["http"] as? String
            else { return false }
            address = http
            return true
        }
        return address
    }

    /// READY=1 comes once the API listens: a supervisor told "ready" can ask at once.
    func testTheHTTPAPIAnswersHealthReadinessAndStatus() async throws {
        let port = try freeTCPPort()
        let notify = NotifySocket(path: dir.appendingPathComponent("notify.sock").path)
        let daemon = try start(
            try config(
                #", "http": {"listen": "127.0.0.1:\#(port)"}, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(try freeUDPPort())"}]"#
            ),
            environment: ["NOTIFY_SOCKET": notify.path])
        XCTAssertTrue(notify.receive(line: "READY=1", timeout: 60), "\(notify.messages)")
        let base = "http://127.0.0.1:\(port)"

        let health = try await get(base + "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.json["status"] as? String, "ok")
        XCTAssertEqual(health.contentType, "application/json")
        let ready = try await get(base + "/readyz")
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(ready.json["ready"] as? Bool, true)
        let status = try await get(base + "/api/v1/status")
        XCTAssertEqual(status.status, 200)
        XCTAssertEqual(status.json["pid"] as? Int, Int(daemon.processIdentifier))
        try wait("the status to name the API's address") {
            (try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/status.json")))
                as? [String: Any])?["http"]
                as? String == "127.0.0.1:\(port)"
        }
        let streams = try await get(base + "/api/v1/streams")
        let cam = try XCTUnwrap((streams.json["streams"] as? [[String: Any]])?.first, "\(streams.json)")
        XCTAssertEqual(cam["name"] as? String, "cam")
        XCTAssertTrue(["connecting", "tracking", "silent", "retrying"].contains(cam["state"] as? String ?? ""), "\(cam)")
        let missing = try await get(base + "/api/v1/nothing")
        XCTAssertEqual(missing.status, 404)
        XCTAssertNotNil(missing.json["error"] as? String)

        // Every series a dashboard plots is there before any job, at 0.
        let samples = try await metrics(base + "/metrics")
        for family in [
            "trackd_frames_decoded_total", "trackd_frames_tracked_total", "trackd_frames_dropped_total", "trackd_active_tracks",
            "trackd_queue_depth", "trackd_log_bytes_written_total", "trackd_detector_latency_seconds_count"
        ] {
            XCTAssertEqual(samples[family + #"{"source": "spool"}"#]?.last as? Double, 0, "\(family): \(samples.keys.sorted())")
            XCTAssertNotNil(samples[family + #"{"source": "cam"}"#], "\(family) of the stream")
        }
        XCTAssertNotNil(samples[#"trackd_stream_reconnects_total{"stream": "cam"}"#], "\(samples.keys.sorted())")

        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0)
        XCTAssertLessThan(seconds, 5)
    }

    /// /readyz follows the watchdog's rule: a stream holding a frame longer than
    /// `stallSeconds` makes it 503 with the reason, and it is 200 again once the
    /// stream moves on. (A model at 1280 px on tiles, on one thread: seconds a frame.)
    func testReadinessFailsWhileAStreamHasStalled() async throws {
        let port = try freeUDPPort()
        let daemon = try start(
            try config(
                #", "stallSeconds": 1, "detector": {"inputSize": 1280, "tileSize": 128, "threads": 1}, "#
                    + #""http": {"listen": "127.0.0.1:0"}, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {\#(quickProbe)}}]"#
            ))
        let readyz = "http://\(try listeningAddress())/readyz"
        let idle = try await get(readyz)
        XCTAssertEqual(idle.status, 200, "waiting for a stream is not a stall: \(idle.json)")
        let sender = try startSender(try clip(seconds: 4), port: port)
        defer { stopChild(sender) }
        var answer = idle
        let deadline = Date().addingTimeInterval(60)
        while answer.status == 200, Date() < deadline {
            try await Task.sleep(nanoseconds: 100_000_000)
            answer = try await get(readyz)
        }
        XCTAssertEqual(answer.status, 503, daemonLog())
        XCTAssertEqual(answer.json["ready"] as? Bool, false)
        let reason = answer.json["reason"] as? String ?? ""
        XCTAssertTrue(reason.contains("stream cam has not advanced for"), reason)
        stopChild(sender)
        // The frame in hand ends, the source has gone quiet: ready again.
        var again = answer
        let recovery = Date().addingTimeInterval(60)
        while again.status != 200, Date() < recovery {
            try await Task.sleep(nanoseconds: 200_000_000)
            again = try await get(readyz)
        }
        XCTAssertEqual(again.status, 200, "\(again.json)")
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// Off loopback a token is required by the configuration, and then by every request.
    func testOffLoopbackEveryRequestNeedsTheToken() async throws {
        let refused = try runProcess(trackd, ["serve", "--config", try config(#", "http": {"listen": "0.0.0.0:0"}"#)])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("http.token: is required"), refused.stderr)

        let token = "a-token-of-twenty-five-ch"
        try token.write(toFile: dir.appendingPathComponent("token").path, atomically: true, encoding: .utf8)
        let daemon = try start(
            try config(#", "http": {"listen": "0.0.0.0:0", "tokenFile": "\#(dir.appendingPathComponent("token").path)"}"#))
        let port = try XCTUnwrap(try listeningAddress().split(separator: ":").last)
        let base = "http://127.0.0.1:\(port)"
        for (given, expected) in [(nil, 401), ("wrong-token-of-twenty-five", 401), (token + "x", 401), (token, 200)] {
            let answer = try await get(base + "/api/v1/status", token: given)
            XCTAssertEqual(answer.status, expected, given ?? "no token")
            if expected == 401 { XCTAssertNotNil(answer.json["error"] as? String) }
        }
        let health = try await get(base + "/healthz")
        XCTAssertEqual(health.status, 401, "health too: nothing is open off loopback")
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A job submitted over HTTP goes through the spool and ends `done` with its log;
    /// bodies the spool would refuse are 400s naming the problem, and none leaves a
    /// file in the inbox.
    func testAJobSubmittedOverHTTPIsDoneAndHostileBodiesAreRefused() async throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 2), toPath: spool + "/media/clip.mp4")
        let daemon = try start(try config(#", "http": {"listen": "127.0.0.1:0"}"#, stableSeconds: 0.1))
        let base = "http://" + (try listeningAddress()) + "/api/v1/jobs"

        for (body, reason) in [
            ("[1]", "JSON object"), (#"{"source": "../etc/passwd"}"#, "without '..'"),
            (#"{"source": "/etc/passwd"}"#, "under the spool"), (#"{"source": "media/none.mp4"}"#, "no such video"),
            (#"{"source": "media/clip.mp4", "priority": 1}"#, "unknown field 'priority'"),
            (#"{"source": "media/clip.mp4", "options": {"speed": 2}}"#, "unknown field 'speed'"),
            (#"{"source": "media/clip.mp4", "options": {"start": 5, "end": 1}}"#, "must not be before"),
            (#"{"source": "rtsp://camera/live"}"#, "live sources are tracked as streams"),
            (#"{"source": "file:///etc/passwd"}"#, "not file:"), (#"{"source": "http://"}"#, "no host"),
            (#"{"source": "media/clip.mp4", "options": {"url": "http://x/y.mp4"}}"#, "unknown option 'url'"),
            (String(repeating: " ", count: 70_000) + "{}", "at most")
        ] {
            let refused = try await get(base, post: body)
            XCTAssertTrue([400, 413].contains(refused.status), "\(body.prefix(60)): \(refused.status)")
            XCTAssertTrue((refused.json["error"] as? String ?? "").contains(reason), "\(body.prefix(60)): \(refused.json)")
        }
        XCTAssertEqual(files("inbox"), [], "nothing refused reaches the spool")

        let created = try await get(base, post: #"{"source": "media/clip.mp4", "options": {"stride": 2}}"#)
        XCTAssertEqual(created.status, 201)
        XCTAssertEqual(created.json["state"] as? String, "queued")
        let id = try XCTUnwrap(created.json["id"] as? String)
        let job = try await waitUntilDone(base + "/" + id)
        let log = try XCTUnwrap(job["log"] as? String)
        let (_, frames, end) = try readLog(log)
        XCTAssertEqual(end?.status, .complete)
        XCTAssertEqual(frames.count, 10, "20 frames at stride 2")
        try await checkMetrics(base.replacingOccurrences(of: "/api/v1/jobs", with: "/metrics"), trackedBySpool: 10)
        let listed = try await get(base).json["jobs"] as? [[String: Any]]
        XCTAssertEqual(listed?.compactMap { $0["id"] as? String }, [id])
        let unknown = try await get(base + "/nothing.json")
        XCTAssertEqual(unknown.status, 404)

        // A recording on a web server, outside the spool, by its URL. (Python's server
        // ignores byte ranges, so the file has its index first and needs no seek.)
        let served = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: served) }
        let copied = try runProcess(
            "ffmpeg",
            ["-v", "error", "-i", try clip(seconds: 2), "-c", "copy", "-movflags", "+faststart", served.path + "/clip.mp4"])
        XCTAssertEqual(copied.status, 0, copied.stderr)
        let port = try freeTCPPort()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        server.arguments = ["-m", "http.server", "--bind", "127.0.0.1", "--directory", served.path, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try spawn(server)
        defer { stopChild(server) }
        let url = "http://127.0.0.1:\(port)/clip.mp4"
        try wait("the web server to answer") { (try? Data(contentsOf: URL(string: url)!)) != nil }
        let fetched = try await get(base, post: #"{"source": "\#(url)"}"#)
        XCTAssertEqual(fetched.status, 201, "\(fetched.json)")
        let remote = try await waitUntilDone(base + "/" + XCTUnwrap(fetched.json["id"] as? String))
        let remoteLog = try readLog(try XCTUnwrap(remote["log"] as? String))
        XCTAssertEqual(remoteLog.end?.status, .complete)
        XCTAssertEqual(remoteLog.frames.count, 20)
        XCTAssertEqual(remoteLog.reader.header.source.path, url)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// Asks for the job at `url` until it is done (or 60 s have passed); its last answer.
    private func waitUntilDone(_ url: String) async throws -> [String: Any] {
        var job: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            job = try await get(url).json
            if job["state"] as? String == "done" { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertEqual(job["state"] as? String, "done", "\(job); daemon log: \(daemonLog())")
        return job
    }

    /// DELETE cancels a queued job at once and a running one after its current frame
    /// (its log ends `interrupted`); both end in `failed/` saying so. An ended job
    /// cannot be cancelled (409), an unknown one is 404.
    func testDeleteCancelsAQueuedAndARunningJob() async throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 30, name: "long.mp4"), toPath: spool + "/media/long.mp4")
        let daemon = try start(try config(#", "workers": 1, "http": {"listen": "127.0.0.1:0"}"#, stableSeconds: 0.1))
        let base = "http://" + (try listeningAddress()) + "/api/v1/jobs"
        func job(_ id: String) async throws -> [String: Any] { try await get(base + "/" + id).json }
        func waitFor(_ id: String, _ what: String, _ condition: ([String: Any]) -> Bool) async throws {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if condition(try await job(id)) { return }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let last = try await job(id)
            XCTFail("timed out waiting for \(id) to be \(what): \(last); daemon log: \(daemonLog())")
        }

        let firstAnswer = try await get(base, post: #"{"source": "media/long.mp4"}"#)
        let first = try XCTUnwrap(firstAnswer.json["id"] as? String)
        try await waitFor(first, "tracking") { ($0["frames"] as? Int ?? 0) > 0 }
        let secondAnswer = try await get(base, post: #"{"source": "media/long.mp4"}"#)
        let second = try XCTUnwrap(secondAnswer.json["id"] as? String)
        let waiting = try await job(second)
        XCTAssertEqual(waiting["state"] as? String, "queued", "one worker, busy")

        let queued = try await get(base + "/" + second, delete: true)
        XCTAssertEqual(queued.status, 202)
        XCTAssertEqual(queued.json["state"] as? String, "failed")
        XCTAssertEqual(queued.json["error"] as? String, "cancelled over the HTTP API")

        let running = try await get(base + "/" + first, delete: true)
        XCTAssertEqual(running.status, 202)
        try await waitFor(first, "failed") { $0["state"] as? String == "failed" }
        let cancelled = try await job(first)
        XCTAssertEqual(cancelled["error"] as? String, "cancelled over the HTTP API")
        let (_, frames, end) = try readLog(spool + "/logs/" + first.replacingOccurrences(of: ".json", with: ".jsonl"))
        XCTAssertEqual(end?.status, .interrupted)
        XCTAssertLessThan(frames.count, 300, "stopped before the end")

        // The frames the cancelled job decoded ahead count as dropped: every decoded
        // frame is tracked or dropped.
        let samples = try await metrics(base.replacingOccurrences(of: "/api/v1/jobs", with: "/metrics"))
        func value(_ name: String) -> Double { samples[name + #"{"source": "spool"}"#]?.last as? Double ?? -1 }
        XCTAssertEqual(
            value("trackd_frames_decoded_total"), value("trackd_frames_tracked_total") + value("trackd_frames_dropped_total"),
            "\(samples)")

        let again = try await get(base + "/" + first, delete: true)
        XCTAssertEqual(again.status, 409)
        let unknown = try await get(base + "/api-none.json", delete: true)
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(files("processing"), [])
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// /metrics as Prometheus reads it: parsed by Prometheus's own Python client (from
    /// the venv scripts/setup makes), with the families a dashboard needs.
    private func checkMetrics(_ url: String, trackedBySpool: Int) async throws {
        let samples = try await metrics(url)
        func value(_ key: String) -> Double? { samples[key]?.last as? Double }
        func type(_ key: String) -> String? { samples[key]?.first as? String }
        XCTAssertEqual(
            value(#"trackd_frames_tracked_total{"source": "spool"}"#), Double(trackedBySpool), "\(samples.keys.sorted())")
        XCTAssertEqual(type(#"trackd_frames_tracked_total{"source": "spool"}"#), "counter")
        XCTAssertEqual(value(#"trackd_frames_decoded_total{"source": "spool"}"#), Double(trackedBySpool))
        XCTAssertEqual(value(#"trackd_jobs{"state": "done"}"#), 1)
        XCTAssertEqual(type(#"trackd_jobs{"state": "done"}"#), "gauge")
        XCTAssertEqual(value(#"trackd_detector_latency_seconds_count{"source": "spool"}"#), Double(trackedBySpool))
        XCTAssertEqual(type(#"trackd_detector_latency_seconds_count{"source": "spool"}"#), "histogram")
        XCTAssertGreaterThan(value(#"trackd_log_bytes_written_total{"source": "spool"}"#) ?? 0, 1000)
        XCTAssertEqual(value(#"trackd_active_tracks{"source": "spool"}"#), 0, "no job runs: no track is active")
        XCTAssertNotNil(value(#"trackd_queue_depth{"source": "spool"}"#))
        XCTAssertTrue(samples.keys.contains { $0.hasPrefix("trackd_build_info") }, "\(samples.keys.sorted())")
    }

    /// Every sample of /metrics, by name and labels: its family's type and its value.
    func metrics(_ url: String) async throws -> [String: [Any]] {
        let (data, response) = try await URLSession.shared.data(from: URL(string: url)!)
        XCTAssertEqual((response as? HTTPURLResponse)?.statusCode, 200)
        XCTAssertTrue(
            ((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type") ?? "").hasPrefix(
                "text/plain; version=0.0.4"))
        let text = dir.appendingPathComponent("metrics.txt")
        try data.write(to: text)
        let python = Deps.repository.appendingPathComponent(".venv-eval/bin/python").path
        let parsed = try runProcess(
            python,
            [
                "-c",
                """
                import json, sys
                from prometheus_client.parser import text_string_to_metric_families
                out = {}
                for family in text_string_to_metric_families(open(sys.argv[1]).read()):
                    for sample in family.samples:
                        key = sample.name + json.dumps(dict(sorted(sample.labels.items())), sort_keys=True)
                        out[key] = [family.type, sample.value]
                print(json.dumps(out))
                """,
                text.path
            ])
        XCTAssertEqual(parsed.status, 0, parsed.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: parsed.stdout) as? [String: [Any]])
    }

    /// A client of /api/v1/events (Python's urllib) writing what it receives to a file,
    /// once it is connected: the process and the file.
    func followEvents(_ address: String) throws -> (Process, String) {
        let received = dir.appendingPathComponent("events-\(UUID().uuidString).txt").path
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = [
            "-c",
            """
            import sys, urllib.request
            with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], "w") as out:
                for line in r:
                    out.write(line.decode())
                    out.flush()
            """,
            "http://\(address)/api/v1/events", received
        ]
        try spawn(client)
        senders.append(client)
        try wait("the client to connect") { FileManager.default.contents(atPath: received)?.isEmpty == false }
        return (client, received)
    }

    /// /api/v1/events streams each track's start and end as server-sent events, and a
    /// client still connected does not hold up a stop: SIGTERM ends the daemon within
    /// 5 s and the client's stream.
    func testEventsStreamTrackStartsAndEndsAndAStopEndsThem() async throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 4), toPath: spool + "/media/clip.mp4")
        let daemon = try start(try config(#", "http": {"listen": "127.0.0.1:0"}"#, stableSeconds: 0.1))
        let address = try listeningAddress()
        let (client, received) = try followEvents(address)

        let submitted = try await get("http://\(address)/api/v1/jobs", post: #"{"source": "media/clip.mp4"}"#)
        let id = try XCTUnwrap(submitted.json["id"] as? String)
        var events: [[String: Any]] = []
        try wait("a track's start and end") {
            let text = (try? String(contentsOfFile: received, encoding: .utf8)) ?? ""
            events = text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any]
            }
            return events.contains { $0["event"] as? String == "end" }
        }
        let start = try XCTUnwrap(events.first)
        XCTAssertEqual(start["event"] as? String, "start")
        XCTAssertEqual(start["source"] as? String, "job:" + id)
        XCTAssertEqual((start["box"] as? [Double])?.count, 4)
        XCTAssertNotNil(start["class"] as? String)
        let started = Set(events.filter { $0["event"] as? String == "start" }.compactMap { $0["id"] as? Int })
        let ended = events.filter { $0["event"] as? String == "end" }.compactMap { $0["id"] as? Int }
        XCTAssertTrue(Set(ended).isSubset(of: started), "each end follows its start")

        let (code, seconds) = stop(daemon)
        XCTAssertEqual(code, 0)
        XCTAssertLessThan(seconds, 5, "an open event stream does not hold up the stop")
        let deadline = Date().addingTimeInterval(5)
        while client.isRunning, Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
        XCTAssertFalse(client.isRunning, "the client's stream ended with the daemon")
    }

    /// The page at `/`, loaded in a real browser (headless Chromium, from scripts/setup):
    /// once its scripts have asked the API, the DOM shows the stream with its
    /// snapshot and its counts, and the job.
    func testThePageShowsTheStreamsAndTheJobsInABrowser() async throws {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 2), toPath: spool + "/media/clip.mp4")
        let port = try freeUDPPort()
        let daemon = try start(
            try config(
                #", "http": {"listen": "127.0.0.1:0"}, "streams": [{"name": "door-cam", "url": "udp://127.0.0.1:\#(port)", "options": {\#(quickProbe)}, "#
                    + #""analytics": {"relative": true, "lines": [{"name": "door", "from": [0.4, 0.9], "to": [0.4, 0.2]}], "#
                    + #""zones": [{"name": "queue", "polygon": [[0.5, 0.3], [0.7, 0.3], [0.7, 0.6]]}]}}]"#,
                stableSeconds: 0.1))
        let address = try listeningAddress()
        let sender = try startSender(try clip(seconds: 4), port: port)
        defer { stopChild(sender) }
        try wait("frames from the stream") { streamFrames("door-cam") >= 5 }
        let submitted = try await get("http://\(address)/api/v1/jobs", post: #"{"source": "media/clip.mp4"}"#)
        let id = try XCTUnwrap(submitted.json["id"] as? String)
        try wait("the job to end") { files("done").contains(id) }

        let page = try runProcess(
            "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
                "http://\(address)/"
            ])
        XCTAssertEqual(page.status, 0, page.stderr)
        let dom = page.output
        XCTAssertTrue(dom.contains(#"data-stream="door-cam""#), dom)
        XCTAssertTrue(dom.contains(#"<img alt="door-cam" src="blob:"#), "the snapshot is shown: \(dom)")
        XCTAssertTrue(dom.contains(#"<div class="analytics">door: in "#), "the stream's counts are shown: \(dom)")
        XCTAssertTrue(dom.contains(#"queue: "#), "and its zone's occupancy: \(dom)")
        XCTAssertTrue(dom.contains(#"data-job="\#(id)""#), dom)
        XCTAssertTrue(dom.contains(#"<td class="done">done</td>"#), dom)
        XCTAssertTrue(dom.contains(#"<div id="summary">pid "#), "the API answered the page: \(dom)")
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// A stream's snapshot is its latest frame at the source's size (or a given
    /// width), a JPEG, with each track of that frame (named in X-Trackd-Frame) boxed
    /// in its colour, where the log puts it.
    func testASnapshotIsTheLatestFrameWithItsTracksDrawn() async throws {
        let clip = try clip(seconds: 4)
        let port = try freeUDPPort()
        let daemon = try start(
            try config(
                #", "http": {"listen": "127.0.0.1:0"}, "streams": [{"name": "cam", "url": "udp://127.0.0.1:\#(port)", "options": {\#(quickProbe)}}]"#
            ))
        let base = "http://\(try listeningAddress())/api/v1/streams/"
        let early = try await get(base + "cam/snapshot.jpg")
        XCTAssertEqual(early.status, 503, "no frame yet: \(early.json)")
        XCTAssertEqual(early.json["error"] as? String, "stream cam has no frame yet")
        let unknown = try await get(base + "door/snapshot.jpg")
        XCTAssertEqual(unknown.status, 404)
        let tooNarrow = try await get(base + "cam/snapshot.jpg?width=4")
        XCTAssertEqual(tooNarrow.status, 400)

        let sender = try startSender(clip, port: port)
        defer { stopChild(sender) }
        try wait("frames with people") { streamFrames("cam") >= 20 && (stream("cam")?["tracks"] as? Int ?? 0) > 0 }
        let (jpeg, answer) = try await fetch(URLRequest(url: URL(string: base + "cam/snapshot.jpg")!))
        XCTAssertEqual(answer.statusCode, 200)
        XCTAssertEqual(answer.value(forHTTPHeaderField: "Content-Type"), "image/jpeg")
        XCTAssertEqual(Array(jpeg.prefix(3)), [0xFF, 0xD8, 0xFF], "a JPEG file")
        let shown = try XCTUnwrap(Int(answer.value(forHTTPHeaderField: "X-Trackd-Frame") ?? ""))
        let (small, _) = try await fetch(URLRequest(url: URL(string: base + "cam/snapshot.jpg?width=192")!))
        XCTAssertEqual(stop(daemon).0, 0)

        let picture = try decodeRGB(jpeg)
        XCTAssertEqual([picture.width, picture.height], [384, 288], "the source's own size")
        let thumbnail = try decodeRGB(small)
        XCTAssertEqual([thumbnail.width, thumbnail.height], [192, 144])

        let logs = files("logs/streams/cam")
        let log = try readLog(spool + "/logs/streams/cam/" + XCTUnwrap(logs.first))
        let frame = try XCTUnwrap(log.frames.first { $0.frame == shown }, "frame \(shown) is in the log")
        XCTAssertFalse(frame.tracks.isEmpty)
        var checked = 0
        for track in frame.tracks {
            // The middle half of the box's top edge (its id tab sits at the left),
            // against a row inside the box: JPEG softens the 2-pixel line, not its hue.
            let box = track.rect
            let y = Int(max(0, box.y1).rounded())
            let xs = Int(max(0, box.x1) + box.width / 4)..<Int(min(384, box.x2) - box.width / 4)
            guard y + 8 < 288, xs.count >= 4 else { continue }
            // Another box (or the id tab above it, up to 16 pixels high here) drawn
            // across this edge may cover it.
            let covered = frame.tracks.contains { other in
                let o = other.rect
                return other.id != track.id && o.x1 < Double(xs.upperBound) && o.x2 > Double(xs.lowerBound)
                    && o.y1 - 16 < Double(y + 10) && o.y2 > Double(y - 2)
            }
            if covered { continue }
            let want = colour(for: track.id)
            let edge = picture.distance(row: y, columns: xs, to: want)
            let inside = picture.distance(row: y + 8, columns: xs, to: want)
            XCTAssertLessThan(edge, 90, "track \(track.id)'s box is drawn in its colour at y \(y)")
            XCTAssertLessThan(edge * 2, inside, "track \(track.id): the edge, not the picture, has its colour")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 0, "some box's edge is clear of the others: \(frame.tracks)")
    }

    struct RGBPicture {
        var width: Int
        var height: Int
        var pixels: [UInt8]

        /// Euclidean distance between `colour` and the mean colour of `columns` of `row`.
        func distance(row: Int, columns: Range<Int>, to colour: (r: UInt8, g: UInt8, b: UInt8)) -> Double {
            var sum = [0.0, 0.0, 0.0]
            for x in columns {
                for c in 0..<3 { sum[c] += Double(pixels[(row * width + x) * 3 + c]) }
            }
            let mean = sum.map { $0 / Double(columns.count) }
            let target = [Double(colour.r), Double(colour.g), Double(colour.b)]
            return zip(mean, target).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
        }
    }

    /// A JPEG decoded by the ffmpeg CLI into RGB24.
    func decodeRGB(_ jpeg: Data) throws -> RGBPicture {
        let path = dir.appendingPathComponent("snapshot-\(UUID().uuidString).jpg").path
        try jpeg.write(to: URL(fileURLWithPath: path))
        let probe = try runProcess(
            "ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0", path])
        let size = probe.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ",").compactMap { Int($0) }
        XCTAssertEqual(size.count, 2, probe.stderr)
        let raw = path + ".rgb"
        let decoded = try runProcess("ffmpeg", ["-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", raw])
        XCTAssertEqual(decoded.status, 0, decoded.stderr)
        let pixels = [UInt8](try Data(contentsOf: URL(fileURLWithPath: raw)))
        XCTAssertEqual(pixels.count, size[0] * size[1] * 3)
        return RGBPicture(width: size[0], height: size[1], pixels: pixels)
    }
}
