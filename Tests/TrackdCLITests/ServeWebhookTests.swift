import Crypto
import Foundation
import Hummingbird
import Logging
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A webhook receiver on a loopback port, in the test's process: it records every
/// request, and answers the `k`th request to a path (0 first) as `answer` says (given
/// also the phase the test has moved it to).
final class WebhookReceiver: @unchecked Sendable {
    struct Request {
        var path: String
        var headers: [String: String]
        var body: Data
        var status: Int
        /// The receiver's phase when the request came.
        var phase: Int

        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
    }

    let port: Int
    private let lock = NSLock()
    private var got: [Request] = []
    private var counts: [String: Int] = [:]
    private var task: Task<Void, any Error>?
    private let answer: @Sendable (_ path: String, _ k: Int, _ phase: Int) async -> HTTPResponse.Status
    /// A number the test moves on, recorded with each request.
    var phase: Int {
        get { lock.withLock { current } }
        set { lock.withLock { current = newValue } }
    }
    private var current = 0

    init(port: Int, answer: @escaping @Sendable (_ path: String, _ k: Int, _ phase: Int) async -> HTTPResponse.Status) {
        self.port = port
        self.answer = answer
    }

    var requests: [Request] { lock.withLock { got } }

    /// The bodies of the requests to `path` answered 2xx, as JSON objects.
    func delivered(_ path: String, phase: Int? = nil) -> [[String: Any]] {
        requests.filter { $0.path == path && (200..<300).contains($0.status) && (phase == nil || $0.phase == phase) }.map(\.json)
    }

    func start() throws {
        let router = Router()
        router.post("/:hook") { [self] request, _ -> Response in
            let body = Data(buffer: try await request.body.collect(upTo: 1 << 20))
            let path = request.uri.path
            let (k, phase) = lock.withLock { () -> (Int, Int) in
                defer { counts[path, default: 0] += 1 }
                return (counts[path, default: 0], current)
            }
            let status = await answer(path, k, phase)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            lock.withLock {
                got.append(Request(path: path, headers: headers, body: body, status: status.code, phase: phase))
            }
            return Response(status: status)
        }
        // Quiet: its stop, by cancellation, would be logged as an error.
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let fd = try? connectLoopback(port: port) {
                close(fd)
                return
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestError.command("the webhook receiver did not listen on \(port)")
    }

    func stop() { task?.cancel() }
}

/// `trackd serve` with `webhooks`: events POSTed to a receiver on loopback, through
/// the outbox (retried while the receiver fails or is down, and after `kill -9`).
extension ServeTests {
    /// The receiver's entry in the status file.
    func receiverStatus(_ name: String) -> [String: Any]? {
        let status = try? JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: spool + "/status.json")))
        return ((status as? [String: Any])?["receivers"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    /// A job counting the door, done, and what its log says its events were.
    func runCountingJob() throws -> [String] {
        try FileManager.default.createDirectory(atPath: spool + "/media", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 4), toPath: spool + "/media/clip.mp4")
        try wait("the spool") { FileManager.default.fileExists(atPath: spool + "/inbox") }
        try #"{"video": "media/clip.mp4", \#(countingDoor)}"#.write(
            toFile: spool + "/inbox/job.json", atomically: true, encoding: .utf8)
        try wait("the job to be done") { files("done").contains("job.json") }
        return try expectedEvents(spool + "/logs/job.jsonl")
    }

    /// Two webhooks: one signed, whose first three requests fail with 500 (every event
    /// arrives, in order, each signature verifies), and one for `start` and `line` events only that
    /// answers its first request 400 (that event is set aside, not retried; the others
    /// arrive).
    func testEventsReachWebhooksThatFailSignedFilteredAndARejectionIsNotRetried() async throws {
        let port = try freeTCPPort()
        let receiver = WebhookReceiver(port: port) { path, k, _ in
            switch path {
            case "/all": k < 3 ? .internalServerError : .ok
            default: k == 0 ? .badRequest : .ok
            }
        }
        try receiver.start()
        defer { receiver.stop() }
        let secretFile = dir.appendingPathComponent("hook.secret").path
        try "a-shared-secret\n".write(toFile: secretFile, atomically: true, encoding: .utf8)
        let all = "webhook:127.0.0.1-all"
        let daemon = try start(
            try config(
                #", "http": {"listen": "127.0.0.1:0"}, "webhooks": [{"url": "http://127.0.0.1:\#(port)/all", "secretFile": "\#(secretFile)", "retryInitialSeconds": 0.05}, {"url": "http://127.0.0.1:\#(port)/lines", "name": "lines", "events": ["line", "start"]}]"#
            ))
        let expected = try runCountingJob()
        let lines = expected.filter { $0.hasPrefix("line ") || $0.hasPrefix("start ") }
        XCTAssertTrue(lines.contains { $0.hasPrefix("line ") }, "the clip has crossings")
        try wait("every event at the receiver") {
            Set(receiver.delivered("/all").compactMap { $0["eventId"] as? String }).count >= expected.count
                && receiver.delivered("/lines").count >= lines.count - 1
        }

        // The first event was sent again after each failure, then the others in order.
        let posts = receiver.requests.filter { $0.path == "/all" }
        XCTAssertEqual(posts.prefix(4).map(\.status), [500, 500, 500, 200])
        XCTAssertEqual(Set(posts.prefix(4).map(\.body)).count, 1, "the failed event is the one retried")
        assertDelivered(receiver.delivered("/all"), expected)
        for post in posts {
            let expectedSignature =
                "sha256="
                + HMAC<SHA256>.authenticationCode(for: post.body, using: SymmetricKey(data: Data("a-shared-secret".utf8)))
                .map { String(format: "%02x", $0) }.joined()
            XCTAssertEqual(post.headers["x-trackd-signature-256"], expectedSignature)
            XCTAssertEqual(post.headers["x-trackd-event"], post.json["event"] as? String)
            XCTAssertEqual(post.headers["x-trackd-event-id"], post.json["eventId"] as? String)
            XCTAssertEqual(post.headers["content-type"], "application/json")
        }
        XCTAssertEqual(
            daemonLog().components(separatedBy: "/all answered 500 Internal Server Error; retrying").count, 2,
            "a failure is logged once, not at every retry: \(daemonLog())")

        // Line events only, unsigned; the refused one is not sent again.
        let linePosts = receiver.requests.filter { $0.path == "/lines" }
        XCTAssertEqual(linePosts.map { "\($0.json["event"] as? String ?? "") \($0.json["id"] as? Int ?? -1)" }.sorted(), lines)
        XCTAssertTrue(linePosts.allSatisfy { $0.headers["x-trackd-signature-256"] == nil })
        XCTAssertTrue(
            daemonLog().contains(
                "webhook lines: http://127.0.0.1:\(port)/lines answered 400 Bad Request; the event is set aside, not retried"),
            daemonLog())

        // The status and /metrics.
        try wait("the receivers' figures") {
            receiverStatus(all)?["delivered"] as? Int == expected.count
                && receiverStatus("webhook:lines")?["rejected"] as? Int == 1
        }
        XCTAssertEqual(receiverStatus(all)?["state"] as? String, "connected")
        XCTAssertEqual(receiverStatus("webhook:lines")?["delivered"] as? Int, lines.count - 1)
        XCTAssertTrue((receiverStatus("webhook:lines")?["lastError"] as? String ?? "").contains("answered 400"))
        let (data, _) = try await fetch(URLRequest(url: URL(string: "http://\(try listeningAddress())/metrics")!))
        let metrics = String(decoding: data, as: UTF8.self)
        XCTAssertTrue(metrics.contains(#"trackd_events_delivered_total{receiver="\#(all)"} \#(expected.count)"#), metrics)
        XCTAssertTrue(metrics.contains(#"trackd_events_rejected_total{receiver="webhook:lines"} 1"#), metrics)
        XCTAssertTrue(metrics.contains(#"trackd_events_pending{receiver="webhook:lines"} 0"#), metrics)
        // `trackd status` and the page (in headless Chromium) say the same.
        let said = "events to webhook:lines: connected, \(lines.count - 1) delivered, 0 waiting, 0 dropped, 1 rejected"
        let status = try runProcess(trackd, ["status", "--config", dir.appendingPathComponent("trackd.json").path])
        XCTAssertTrue(status.output.contains(said), status.output)
        let page = try runProcess(
            "chromium",
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom",
                "http://\(try listeningAddress())/"
            ])
        XCTAssertTrue(page.output.contains(said), page.output)
        XCTAssertEqual(stop(daemon).0, 0)
    }

    /// Nothing listens, then a receiver answers too late: each failure said in the
    /// status, retried; the daemon killed with its backlog delivers it after a restart.
    func testAWebhookThatIsDownOrSilentIsRetriedAndItsBacklogOutlivesAKill() throws {
        let port = try freeTCPPort()
        let url = "http://127.0.0.1:\(port)/hook"
        let path = try config(
            #", "webhooks": [{"url": "\#(url)", "timeoutSeconds": 0.5, "retryInitialSeconds": 0.1, "retryMaxSeconds": 0.5}]"#)
        let first = try start(path)
        let expected = try runCountingJob()
        let name = "webhook:127.0.0.1-hook"
        try wait("the backlog and the refusal in the status") {
            let r = receiverStatus(name)
            return r?["pending"] as? Int == expected.count && r?["state"] as? String == "retrying"
                && (r?["lastError"] as? String ?? "") == "cannot connect to \(url): Connection refused"
        }
        let receiver = WebhookReceiver(port: port) { _, _, phase in
            // Slow until the test moves it on.
            if phase == 0 { try? await Task.sleep(nanoseconds: 2_000_000_000) }
            return .ok
        }
        try receiver.start()
        defer { receiver.stop() }
        try wait("the timeout in the status") {
            receiverStatus(name)?["lastError"] as? String == "no answer from \(url) in 0.5 s"
        }
        XCTAssertEqual(receiverStatus(name)?["delivered"] as? Int, 0)
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()

        receiver.phase = 1
        let second = try start(path)
        try wait("every event after the restart") {
            Set(receiver.delivered("/hook", phase: 1).compactMap { $0["eventId"] as? String }).count >= expected.count
        }
        assertDelivered(receiver.delivered("/hook", phase: 1), expected)
        XCTAssertEqual(stop(second).0, 0)
    }

    /// A receiver that stays down costs disk up to `maxOutboxBytes`: the oldest events
    /// are dropped and counted, the newest delivered once it is back.
    func testAnOutboxAtItsBoundDropsItsOldestEventsAndCountsThem() throws {
        let port = try freeTCPPort()
        let daemon = try start(
            try config(
                #", "webhooks": [{"url": "http://127.0.0.1:\#(port)/hook", "maxOutboxBytes": 1024, "retryInitialSeconds": 0.1, "retryMaxSeconds": 0.2}]"#
            ))
        let expected = try runCountingJob()
        let name = "webhook:127.0.0.1-hook"
        var (pending, dropped) = (0, 0)
        try wait("the backlog in the status") {
            (pending, dropped) = (receiverStatus(name)?["pending"] as? Int ?? 0, receiverStatus(name)?["dropped"] as? Int ?? 0)
            return pending + dropped == expected.count
        }
        XCTAssertGreaterThan(dropped, 0, "the job's \(expected.count) events are more than 1 KiB")
        let outbox = spool + "/outbox/webhook-127.0.0.1-hook"
        let bytes = try FileManager.default.contentsOfDirectory(atPath: outbox).filter { $0.hasSuffix(".jsonl") }.reduce(0) {
            $0 + ((try FileManager.default.attributesOfItem(atPath: outbox + "/" + $1)[.size] as? Int) ?? 0)
        }
        XCTAssertLessThanOrEqual(bytes, 1024)

        let receiver = WebhookReceiver(port: port) { _, _, _ in .ok }
        try receiver.start()
        defer { receiver.stop() }
        try wait("the events kept") { receiverStatus(name)?["delivered"] as? Int == pending }
        let got = receiver.delivered("/hook").map { "\($0["event"] as? String ?? "") \($0["id"] as? Int ?? -1)" }
        XCTAssertEqual(got.count, pending)
        XCTAssertTrue(Set(got).isSubset(of: expected), "\(got)")
        let firstTrack = try XCTUnwrap(expected.compactMap { $0.hasPrefix("start ") ? Int($0.dropFirst(6)) : nil }.min())
        XCTAssertFalse(got.contains("start \(firstTrack)"), "the oldest event went first")
        XCTAssertTrue(got.contains { $0.hasPrefix("end ") })
        XCTAssertEqual(stop(daemon).0, 0)
    }
}
