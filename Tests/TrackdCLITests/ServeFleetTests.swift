import Foundation
import TestSupport
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Three `trackd serve` nodes of one fleet, as subprocesses on loopback, sharing jobs
/// through a real PostgreSQL that the test starts in its folder.
extension ServeTests {
    struct FleetNodeProcess {
        var name: String
        var process: Process
        var api: String
        var spool: String
    }

    /// Starts PostgreSQL and `count` nodes (one worker each) reading videos from
    /// `shared`; waits until each is ready.
    func startFleet(_ count: Int, shared: String, leaseSeconds: Double = 3, extra: String = "") throws -> (
        TestPostgres, [FleetNodeProcess]
    ) {
        let database = try TestPostgres(in: dir, port: try freeTCPPort())
        var nodes: [FleetNodeProcess] = []
        for k in 1...count {
            nodes.append(try startNode("node-\(k)", database: database, shared: shared, lease: leaseSeconds, extra: extra))
        }
        for node in nodes {
            try wait("\(node.name) to be ready") {
                (try? readiness(node).status) == 200
            }
        }
        return (database, nodes)
    }

    /// `extra` adds fields to its configuration.
    func startNode(
        _ name: String, database: TestPostgres, shared: String, lease: Double, folder: String? = nil, extra: String = ""
    ) throws -> FleetNodeProcess {
        let port = try freeTCPPort()
        let root = dir.appendingPathComponent(folder ?? name).path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let config = root + "/trackd.json"
        try """
        {"spool": "\(root)/spool", "workers": 1, "pollSeconds": 0.1, "http": {"listen": "127.0.0.1:\(port)"},
         "fleet": {"database": "postgresql://trackd@127.0.0.1:\(database.port)/trackd?sslmode=disable", "node": "\(name)",
                   "advertise": "http://127.0.0.1:\(port)", "leaseSeconds": \(lease), "sharedRoot": "\(shared)"}\(extra)}
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return FleetNodeProcess(name: name, process: try start(config), api: "http://127.0.0.1:\(port)", spool: root + "/spool")
    }

    func port(_ api: String) -> Int { Int(api.split(separator: ":").last!)! }

    /// `/readyz` of a node: its status and body.
    func readiness(_ node: FleetNodeProcess) throws -> (status: Int, body: String) {
        try rawHTTP(port: port(node.api), "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    }

    /// The fleet's jobs as a node lists them, by id.
    func fleetJobs(_ node: FleetNodeProcess) async throws -> [String: [String: Any]] {
        let listed = try await get(node.api + "/api/v1/jobs").json["jobs"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: listed.compactMap { job in (job["id"] as? String).map { ($0, job) } })
    }

    /// A job's log fetched over the API of `node` (from whichever node wrote it),
    /// read as a track log.
    func fetchedLog(_ id: String, from node: FleetNodeProcess) async throws -> (frames: Int, complete: Bool, servedBy: String?) {
        let (data, answer) = try await fetch(URLRequest(url: URL(string: node.api + "/api/v1/jobs/\(id)/log")!))
        XCTAssertEqual(answer.statusCode, 200, String(decoding: data, as: UTF8.self))
        let file = dir.appendingPathComponent("fetched-\(id).jsonl")
        try data.write(to: file)
        let log = try readLog(file.path)
        return (log.frames.count, log.end?.status == .complete, answer.value(forHTTPHeaderField: "X-Trackd-Node"))
    }

    /// Twelve jobs submitted to one node end `done` exactly once, spread over the three
    /// nodes, each log complete and served by any node; a second process with a live
    /// node's name is refused.
    func testTwelveJobsSubmittedToOneNodeAreDoneOnceAcrossThreeNodes() async throws {
        let shared = dir.appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 2), toPath: shared + "/clip.mp4")
        try FileManager.default.copyItem(atPath: try clip(seconds: 20), toPath: shared + "/long.mp4")
        let (database, nodes) = try startFleet(3, shared: shared)
        defer { database.stop() }

        // Refused: a path outside the shared storage; the daemon's own spool is not it.
        let outside = try await get(nodes[0].api + "/api/v1/jobs", post: #"{"source": "../clip.mp4"}"#)
        XCTAssertEqual(outside.status, 400)
        XCTAssertTrue((outside.json["error"] as? String ?? "").contains("shared storage"), "\(outside.json)")

        var ids: [String] = []
        for _ in 0..<12 {
            let created = try await get(nodes[0].api + "/api/v1/jobs", post: #"{"source": "clip.mp4"}"#)
            XCTAssertEqual(created.status, 201, "\(created.json)")
            ids.append(try XCTUnwrap(created.json["id"] as? String))
        }
        XCTAssertEqual(Set(ids).count, 12)

        var jobs: [String: [String: Any]] = [:]
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            jobs = try await fleetJobs(nodes[1])
            if ids.allSatisfy({ jobs[$0]?["state"] as? String == "done" }) { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        for id in ids {
            XCTAssertEqual(jobs[id]?["state"] as? String, "done", "\(id): \(jobs[id] ?? [:])")
            XCTAssertEqual(jobs[id]?["attempts"] as? Int, 1, "\(id) ran once")
            XCTAssertEqual(jobs[id]?["frames"] as? Int, 20)
        }
        let byNode = Dictionary(grouping: ids) { jobs[$0]?["node"] as? String ?? "" }
        XCTAssertEqual(Set(byNode.keys), Set(nodes.map(\.name)), "every node ran some: \(byNode.mapValues(\.count))")
        // Each job in exactly one node's done/ folder, and nowhere failed.
        let done = nodes.flatMap { node in
            ((try? FileManager.default.contentsOfDirectory(atPath: node.spool + "/done")) ?? []).filter { $0.hasPrefix("fleet-") }
        }
        XCTAssertEqual(done.sorted(), ids.sorted())
        for node in nodes {
            XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: node.spool + "/failed")) ?? [], [])
        }
        // Any node serves any job's log: node 3 fetches those the others wrote.
        for id in ids {
            let log = try await fetchedLog(id, from: nodes[2])
            XCTAssertEqual(log.frames, 20, id)
            XCTAssertTrue(log.complete, id)
            let writer = try XCTUnwrap(jobs[id]?["node"] as? String)
            XCTAssertEqual(log.servedBy, writer == nodes[2].name ? nil : writer)
        }
        let fleet = try await get(nodes[0].api + "/api/v1/fleet").json
        let listed = try XCTUnwrap(fleet["nodes"] as? [[String: Any]])
        XCTAssertEqual(listed.compactMap { $0["name"] as? String }, nodes.map(\.name))
        XCTAssertTrue(listed.allSatisfy { $0["alive"] as? Bool == true }, "\(listed)")
        XCTAssertEqual(fleet["queuedJobs"] as? Int, 0)
        // The page shows the fleet: its nodes, and each job's node.
        let page = try runProcess(
            "chromium",
            ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000", "--dump-dom", nodes[0].api + "/"])
        XCTAssertEqual(page.status, 0, page.stderr)
        for node in nodes {
            XCTAssertTrue(
                page.output.contains(#"<tr data-node="\#(node.name)"><td>\#(node.name)</td><td class="done">alive</td>"#),
                page.output)
        }
        XCTAssertTrue(
            page.output.contains(#"data-job="\#(ids[0])"><td>\#(ids[0])</td><td class="done">done</td><td>node-"#), page.output)

        // A running job cancelled from a node that does not run it: its node stops it
        // at its next renewal, and it ends `failed` (cancelled), its log `interrupted`.
        let long = try await get(nodes[0].api + "/api/v1/jobs", post: #"{"source": "long.mp4"}"#)
        let longID = try XCTUnwrap(long.json["id"] as? String)
        var runner: String?
        let started = Date()
        while runner == nil, Date().timeIntervalSince(started) < 60 {
            let job = try await get(nodes[0].api + "/api/v1/jobs/" + longID).json
            if job["state"] as? String == "processing", job["frames"] as? Int ?? 0 > 0 { runner = job["node"] as? String }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertNotNil(runner, "the long job never ran")
        let other = try XCTUnwrap(nodes.first { $0.name != runner })
        let cancelled = try await get(other.api + "/api/v1/jobs/" + longID, delete: true)
        XCTAssertEqual(cancelled.status, 202, "\(cancelled.json)")
        let holder = try XCTUnwrap(nodes.first { $0.name == runner })
        try wait("the cancelled job to stop on its node", timeout: 10) {
            ((try? FileManager.default.contentsOfDirectory(atPath: holder.spool + "/failed")) ?? []).contains(longID)
        }
        let ended = try await get(holder.api + "/api/v1/jobs/" + longID).json
        XCTAssertEqual(ended["state"] as? String, "failed")
        XCTAssertEqual(ended["error"] as? String, "cancelled over the HTTP API")
        let partial = try readLog(holder.spool + "/logs/" + longID.replacingOccurrences(of: ".json", with: ".jsonl"))
        XCTAssertEqual(partial.end?.status, .interrupted)
        XCTAssertLessThan(partial.frames.count, 200)
        let again = try await get(other.api + "/api/v1/jobs/" + longID, delete: true)
        XCTAssertEqual(again.status, 409, "an ended job cannot be cancelled")

        // A second node-2 while node-2 lives: refused at start, saying why.
        let twin = try startNode("node-2", database: database, shared: shared, lease: 3, folder: "twin")
        twin.process.waitUntilExit()
        XCTAssertNotEqual(twin.process.terminationStatus, 0)
        XCTAssertTrue(daemonLog().contains("node name 'node-2' is in use"), daemonLog())

        for node in nodes { XCTAssertEqual(stop(node.process).0, 0) }
        // Gone from the fleet at once, not after their lease.
        XCTAssertEqual(try database.query("SELECT count(*) FROM trackd_nodes WHERE heartbeat > now() - interval '1 hour'"), ["0"])
    }

    /// `kill -9` of a node in the middle of a job: after its lease, another node runs
    /// the job again from the start and it ends `done` once, its log complete.
    func testAJobOfANodeKilledMidwayIsDoneByAnother() async throws {
        let shared = dir.appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 20), toPath: shared + "/long.mp4")
        let (database, nodes) = try startFleet(3, shared: shared, leaseSeconds: 2)
        defer { database.stop() }
        let created = try await get(nodes[0].api + "/api/v1/jobs", post: #"{"source": "long.mp4"}"#)
        let id = try XCTUnwrap(created.json["id"] as? String, "\(created.json)")
        var job: [String: Any] = [:]
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            job = try await get(nodes[0].api + "/api/v1/jobs/" + id).json
            if job["state"] as? String == "processing", job["frames"] as? Int ?? 0 > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let first = try XCTUnwrap(job["node"] as? String, "\(job)")
        XCTAssertLessThan(job["frames"] as? Int ?? 200, 200, "killed mid-job")
        let victim = try XCTUnwrap(nodes.first { $0.name == first })
        kill(victim.process.processIdentifier, SIGKILL)
        victim.process.waitUntilExit()
        let killed = Date()
        let survivor = try XCTUnwrap(nodes.first { $0.name != first })
        deadline = Date().addingTimeInterval(120)
        var restarted: Date?
        while Date() < deadline {
            job = try await get(survivor.api + "/api/v1/jobs/" + id).json
            if restarted == nil, job["attempts"] as? Int == 2 { restarted = Date() }
            if job["state"] as? String == "done" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTAssertEqual(job["state"] as? String, "done", "\(job)")
        XCTAssertEqual(job["attempts"] as? Int, 2)
        XCTAssertNotEqual(job["node"] as? String, first)
        // Taken over within the lease and a few polls.
        XCTAssertLessThan(try XCTUnwrap(restarted).timeIntervalSince(killed), 2 + 5)
        let log = try await fetchedLog(id, from: survivor)
        XCTAssertEqual(log.frames, 200)
        XCTAssertTrue(log.complete)
        for node in nodes where node.name != first { XCTAssertEqual(stop(node.process).0, 0) }
    }
}

extension ServeTests {
    /// The node's own view, from its status file.
    func nodeStatus(_ node: FleetNodeProcess) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: node.spool + "/status.json"),
            let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return status
    }

    /// The database stopped for 10 s, longer than the node's lease (9 s): the node says
    /// so (`/readyz` 503, its status), keeps its job and its stream (one of its
    /// configuration, declared to the fleet at its start) while its lease lasts, stops
    /// them before the lease runs out (so no other node could run them at the same
    /// time), and once the database is back it recovers without a restart: the job runs
    /// again to `done` and the stream is tracked again, in a log begun after the last.
    func testANodeRidesOutTheDatabaseStoppingAndRecovers() async throws {
        let shared = dir.appendingPathComponent("shared").path
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: try clip(seconds: 40), toPath: shared + "/long.mp4")
        let stream = #", "streams": [{"name": "cam", "url": "\#(shared)/long.mp4", "retryInitialSeconds": 0.1}]"#
        let (database, nodes) = try startFleet(1, shared: shared, leaseSeconds: 9, extra: stream)
        defer { database.stop() }
        let node = nodes[0]
        let created = try await get(node.api + "/api/v1/jobs", post: #"{"source": "long.mp4"}"#)
        let id = try XCTUnwrap(created.json["id"] as? String, "\(created.json)")
        func localFrames() -> Int? {
            (nodeStatus(node)["jobs"] as? [[String: Any]])?.first { $0["name"] as? String == id }?["frames"] as? Int
        }
        func streamFrames() -> Int? { trackedStream("cam", on: node)?["frames"] as? Int }
        try wait("the job and the stream to run") { (localFrames() ?? 0) > 5 && (streamFrames() ?? 0) > 5 }

        database.stop()
        let stopped = Date()
        try wait("the node to report the database down", timeout: 6) { (try? readiness(node))?.status == 503 }
        let ready = try readiness(node)
        XCTAssertTrue(ready.body.contains("fleet's database"), ready.body)
        func reachable() -> Bool? { (nodeStatus(node)["fleet"] as? [String: Any])?["databaseReachable"] as? Bool }
        // The status file, written every second, says so too.
        try wait("the status to say so", timeout: 3) { reachable() == false }
        // Within its lease it keeps tracking...
        let before = (localFrames() ?? 0, streamFrames() ?? 0)
        try wait("the job and the stream to go on while the lease lasts", timeout: 2) {
            (localFrames() ?? 0) > before.0 && (streamFrames() ?? 0) > before.1
        }
        // ...and stops before the lease is out, however long the database stays down.
        try wait("the job and the stream to stop as the lease runs out", timeout: 9) {
            localFrames() == nil && streamFrames() == nil
        }
        XCTAssertLessThan(Date().timeIntervalSince(stopped), 9, "stopped within the lease")
        let held = try XCTUnwrap(streamLogSpans("cam", on: nodes).last)
        XCTAssertLessThan(held.lastWritten.timeIntervalSince(stopped), 9, "its log ended within the lease")
        XCTAssertTrue(held.lines.last?.contains(#""status":"interrupted""#) ?? false, "\(held.lines.last ?? "")")
        try await Task.sleep(for: .seconds(max(0, 10 - Date().timeIntervalSince(stopped))))

        try database.start()
        try wait("the node to be ready again", timeout: 30) {
            (try? readiness(node))?.status == 200
        }
        var job: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            job = try await get(node.api + "/api/v1/jobs/" + id).json
            if job["state"] as? String == "done" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        XCTAssertEqual(job["state"] as? String, "done", "\(job); \(daemonLog())")
        XCTAssertEqual(job["attempts"] as? Int, 2, "run again after its lease was lost")
        let log = try await fetchedLog(id, from: node)
        XCTAssertEqual(log.frames, 400)
        XCTAssertTrue(log.complete)
        try wait("the stream to be tracked again") { (streamFrames() ?? 0) > 0 }
        let spans = try streamLogSpans("cam", on: nodes)
        XCTAssertEqual(spans.count, 2, "\(spans.map(\.file))")
        assertNeverTwoAtOnce(spans)
        try wait("the status to say it is back", timeout: 3) { reachable() == true }
        XCTAssertEqual(stop(node.process).0, 0)
    }
}
