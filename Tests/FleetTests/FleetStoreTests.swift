import Fleet
import Foundation
import Logging
import PostgresNIO
import TestSupport
import XCTest

/// Registers node `name` (advertised at http://name) in `store`; its generation.
func register(_ name: String, in store: FleetStore, workers: Int = 1, slots: Int = 0, lease: Double) async throws -> Int64 {
    try await store.register(
        NodeInfo(name: name, advertise: "http://\(name)", workers: workers, streamSlots: slots, leaseSeconds: lease))
}

/// The fleet's store against a real PostgreSQL, started by the test on loopback.
final class FleetStoreTests: XCTestCase {
    private var dir: URL!
    private var server: TestPostgres!

    override func setUpWithError() throws {
        dir = try makeTemporaryDirectory()
        server = try TestPostgres(in: dir, port: try freeTCPPort())
    }

    override func tearDown() {
        server?.stop()
        server = nil
        try? FileManager.default.removeItem(at: dir)
    }

    /// Runs `body` with `count` stores, each on a client of its own (as separate
    /// nodes would be), migrated.
    func withStores(_ count: Int = 1, _ body: ([FleetStore]) async throws -> Void) async throws {
        let logger = Logger(label: "fleet-test")
        let clients = (0..<count).map { _ in
            PostgresClient(
                configuration: .init(
                    host: "127.0.0.1", port: server.port, username: "trackd", password: nil, database: "trackd",
                    tls: .disable),
                backgroundLogger: logger)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for client in clients { group.addTask { await client.run() } }
            defer { group.cancelAll() }
            let stores = clients.map { FleetStore(client: $0, logger: logger) }
            try await body(stores)
        }
    }

    func testNodesStartingAtOnceMigrateTheSchemaOnce() async throws {
        try await withStores(4) { stores in
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for store in stores { group.addTask { try await store.migrate() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            XCTAssertEqual(versions, [Int](repeating: versions[0], count: 4))
            XCTAssertGreaterThan(versions[0], 0)
            // Again: nothing left to do, the same version.
            let value1 = try await stores[0].migrate()
            XCTAssertEqual(value1, versions[0])
        }
    }

    func testASecondNodeWithALiveNodesNameIsRefused() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            let node = NodeInfo(name: "host1", advertise: "http://127.0.0.1:1", workers: 2, streamSlots: 4, leaseSeconds: 1)
            let first = try await store.register(node)
            let value2 = try await store.heartbeat(node: "host1", generation: first)
            XCTAssertTrue(value2)
            do {
                _ = try await store.register(node)
                XCTFail("a second host1 while the first is alive")
            } catch let error as FleetError {
                XCTAssertEqual(error, .nodeNameInUse("host1"))
                XCTAssertTrue("\(error)".contains("fleet.node"), "\(error)")
            }
            // Once the first one's lease ran out, the name may be taken again, and the
            // first one learns at its next heartbeat that it was fenced off.
            try await Task.sleep(for: .seconds(1.3))
            let second = try await store.register(node)
            XCTAssertEqual(second, first + 1)
            let value3 = try await store.heartbeat(node: "host1", generation: first)
            XCTAssertFalse(value3)
            let value4 = try await store.heartbeat(node: "host1", generation: second)
            XCTAssertTrue(value4)
        }
    }

    func testConcurrentClaimsTakeEachJobOnceAndEndItOnce() async throws {
        try await withStores(3) { stores in
            try await stores[0].migrate()
            for k in 0..<30 { _ = try await stores[0].enqueue(source: "/videos/\(k).mp4", spec: #"{"k": \#(k)}"#) }
            // Three nodes claim in small batches at once until the queue is empty.
            let claimed = try await withThrowingTaskGroup(of: [(String, ClaimedJob)].self) { group in
                for (n, store) in stores.enumerated() {
                    group.addTask {
                        let name = "node\(n)"
                        let generation = try await register(name, in: store, workers: 2, lease: 30)
                        var mine: [(String, ClaimedJob)] = []
                        while true {
                            let batch = try await store.claim(
                                node: name, generation: generation, limit: 2, holding: [], leaseSeconds: 30)
                            if batch.isEmpty { break }
                            for job in batch {
                                let ended = try await store.finish(
                                    job: job.id, node: name, generation: generation, state: .done, frames: 5)
                                XCTAssertTrue(ended)
                                mine.append((name, job))
                            }
                        }
                        return mine
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            XCTAssertEqual(claimed.map(\.1.id).sorted(), Array(1...30), "every job claimed exactly once")
            XCTAssertTrue(claimed.allSatisfy { $0.1.attempt == 1 })
            let jobs = try await stores[0].jobs()
            XCTAssertEqual(jobs.map(\.state), [String](repeating: "done", count: 30))
        }
    }

    func testAJobWhoseNodeDiedIsClaimedAgainAndEndsOnce() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            let id = try await store.enqueue(source: "/videos/a.mp4", spec: "{}")
            let a = try await register("a", in: store, lease: 1)
            let b = try await register("b", in: store, lease: 1)
            let value5 = try await store.claim(node: "a", generation: a, limit: 1, holding: [], leaseSeconds: 1).map(\.id)
            XCTAssertEqual(value5, [id])
            // While a's lease lasts, b finds nothing; a keeps it by extending.
            let value6 = try await store.claim(node: "b", generation: b, limit: 1, holding: [], leaseSeconds: 1)
            XCTAssertEqual(value6, [])
            let value7 = try await store.extend(jobs: [id: 5], node: "a", generation: a, leaseSeconds: 1)
            XCTAssertEqual(value7, [id])
            // a dies (stops extending): after the lease, b runs the job again.
            try await Task.sleep(for: .seconds(1.3))
            let again = try await store.claim(node: "b", generation: b, limit: 1, holding: [], leaseSeconds: 30)
            XCTAssertEqual(again.map(\.id), [id])
            XCTAssertEqual(again.first?.attempt, 2)
            // a comes back too late: its claim is gone, so it can neither extend nor end it.
            let value8 = try await store.extend(jobs: [id: 5], node: "a", generation: a, leaseSeconds: 1)
            XCTAssertEqual(value8, [])
            let value9 = try await store.finish(job: id, node: "a", generation: a, state: .done, frames: 5)
            XCTAssertFalse(value9)
            let value10 = try await store.finish(job: id, node: "b", generation: b, state: .done, frames: 5)
            XCTAssertTrue(value10)
            let value11 = try await store.finish(job: id, node: "b", generation: b, state: .done, frames: 5)
            XCTAssertFalse(value11, "done once")
            let rows = try await store.jobs()
            XCTAssertEqual(rows.map(\.state), ["done"])
            XCTAssertEqual(rows.first?.node, "b")
            XCTAssertEqual(rows.first?.advertise, "http://b")
            XCTAssertEqual(rows.first?.frames, 5)
            // A cancel after the end changes nothing.
            let after = try await store.cancel(job: id, reason: "cancelled over the HTTP API")
            XCTAssertEqual(after?.state, "done")
        }
    }

    /// A claim whose answer never reached its node (the statement timed out after it
    /// committed): the node's next claim hands the job over again, as the same attempt,
    /// and only to that node; once started it is not handed over again.
    func testAClaimWhoseAnswerWasLostIsHandedOverAgain() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            let id = try await store.enqueue(source: "a.mp4", spec: "{}")
            let a = try await register("a", in: store, lease: 30)
            let b = try await register("b", in: store, lease: 30)
            let lost = try await store.claim(node: "a", generation: a, limit: 1, holding: [], leaseSeconds: 30)
            XCTAssertEqual(lost.map(\.id), [id])
            let byB = try await store.claim(node: "b", generation: b, limit: 1, holding: [], leaseSeconds: 30)
            XCTAssertEqual(byB, [], "another node's lease holds")
            let holding = try await store.claim(node: "a", generation: a, limit: 1, holding: [id], leaseSeconds: 30)
            XCTAssertEqual(holding, [], "a job the node holds is not handed over twice")
            let again = try await store.claim(node: "a", generation: a, limit: 1, holding: [], leaseSeconds: 30)
            XCTAssertEqual(again.map(\.id), [id])
            XCTAssertEqual(again.first?.attempt, 1, "the same attempt")
            try await store.started(job: id, log: "/logs/a.jsonl", node: "a", generation: a)
            let started = try await store.claim(node: "a", generation: a, limit: 1, holding: [], leaseSeconds: 30)
            XCTAssertEqual(started, [], "a started job waits for its lease")
        }
    }

    func testACancelledJobIsNoLongerItsNodesAndAReleasedOneIsQueuedAgain() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            let first = try await store.enqueue(source: "a.mp4", spec: "{}")
            let second = try await store.enqueue(source: "b.mp4", spec: "{}")
            let a = try await register("a", in: store, workers: 2, lease: 30)
            let claimed = try await store.claim(node: "a", generation: a, limit: 2, holding: [], leaseSeconds: 30).map(\.id)
            XCTAssertEqual(claimed, [first, second])
            let depth = try await store.queueDepth()
            XCTAssertEqual(depth, 0)
            let cancelled = try await store.cancel(job: first, reason: "cancelled over the HTTP API")
            XCTAssertEqual(cancelled?.state, "cancelled")
            let kept = try await store.extend(jobs: [first: 3, second: 4], node: "a", generation: a, leaseSeconds: 30)
            XCTAssertEqual(kept, [second], "the cancelled job is stopped at the next renewal")
            let ended = try await store.finish(job: first, node: "a", generation: a, state: .done, frames: 3)
            XCTAssertFalse(ended, "a cancelled job does not end done")
            // A graceful stop gives the other back to the queue at once.
            try await store.release(jobs: [second], node: "a", generation: a)
            try await store.leave(node: "a", generation: a)
            let depthAfter = try await store.queueDepth()
            XCTAssertEqual(depthAfter, 1)
            let nodes = try await store.nodes()
            XCTAssertEqual(nodes.map(\.name), ["a"])
            XCTAssertEqual(nodes.first?.alive, false)
            let none = try await store.job(999)
            XCTAssertNil(none)
        }
    }
}

/// Jobs that run until they are stopped, `workers` at a time.
private final class EndlessWorkload: FleetWorkload, @unchecked Sendable {
    private let lock = NSLock()
    private var running: [Int64: @Sendable (FleetJobOutcome) -> Void] = [:]
    private let workers: Int

    init(workers: Int) { self.workers = workers }

    private var started = 0

    var ids: Set<Int64> { lock.withLock { Set(running.keys) } }
    /// How many jobs it was given, counting a job run again.
    var starts: Int { lock.withLock { started } }
    func freeWorkers() -> Int { lock.withLock { workers - running.count } }
    func start(_ job: ClaimedJob, ended: @escaping @Sendable (FleetJobOutcome) -> Void) -> String? {
        lock.withLock {
            running[job.id] = ended
            started += 1
        }
        return "/logs/\(job.id).jsonl"
    }
    func frames(_ id: Int64) -> Int { 7 }
    func stop(_ id: Int64, cancelled: Bool) -> Bool {
        guard let ended = lock.withLock({ running.removeValue(forKey: id) }) else { return false }
        ended(cancelled ? .cancelled : .stopped)
        return true
    }
    func ended(_ id: Int64) async {}
}

extension FleetStoreTests {
    /// The coordination loop on a stub workload: it claims up to its free workers,
    /// records progress with its renewals, and on leaving gives its jobs back to the
    /// queue at once rather than after their lease.
    func testANodeClaimsUpToItsWorkersAndGivesItsJobsBackWhenItLeaves() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            for k in 0..<3 { _ = try await store.enqueue(source: "\(k).mp4", spec: "{}") }
            let generation = try await register("a", in: store, workers: 2, lease: 3)
            let workload = EndlessWorkload(workers: 2)
            let node = FleetNode(
                store: store, name: "a", generation: generation, leaseSeconds: 3, workload: workload, pollSeconds: { 0.05 },
                logger: Logger(label: "fleet-test"))
            let loop = Task { await node.run() }
            var rows: [JobRow] = []
            for _ in 0..<100 {
                rows = try await store.jobs()
                if rows.filter({ $0.state == "running" && $0.frames == 7 }).count == 2 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            XCTAssertEqual(rows.map(\.state), ["running", "running", "queued"], "two workers, two jobs")
            XCTAssertEqual(rows.map(\.frames), [7, 7, 0], "progress recorded with the renewal")
            XCTAssertEqual(rows.compactMap(\.log), ["/logs/1.jsonl", "/logs/2.jsonl"])
            XCTAssertEqual(node.held, [1, 2])
            loop.cancel()
            let fenced = await loop.value
            XCTAssertNil(fenced)
            await node.leave()
            XCTAssertEqual(workload.ids, [], "stopped")
            let after = try await store.jobs()
            XCTAssertEqual(after.map(\.state), ["queued", "queued", "queued"], "given back at once")
            let nodes = try await store.nodes()
            XCTAssertEqual(nodes.first?.alive, false)
        }
    }
}

extension FleetStoreTests {
    /// The database gone for longer than the lease: the node stops its job before the
    /// lease runs out and, the database back, claims it again once and keeps it (a
    /// claim made before the lease was renewed again would be stopped by the guard at
    /// once and wait a whole lease to run again).
    func testANodeThatLostItsLeaseClaimsItsJobAgainOnceTheDatabaseIsBack() async throws {
        try await withStores { stores in
            let store = stores[0]
            try await store.migrate()
            _ = try await store.enqueue(source: "0.mp4", spec: "{}")
            let generation = try await register("a", in: store, lease: 3)
            let workload = EndlessWorkload(workers: 1)
            let node = FleetNode(
                store: store, name: "a", generation: generation, leaseSeconds: 3, workload: workload, pollSeconds: { 0.05 },
                logger: Logger(label: "fleet-test"))
            let loop = Task { await node.run() }
            func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
                for _ in 0..<300 {
                    if try await condition() { return }
                    try await Task.sleep(for: .milliseconds(50))
                }
                XCTFail("timed out waiting for \(what)")
            }
            try await waitFor("the job to run") { workload.ids == [1] }
            server.stop()
            try await waitFor("the job to stop within the lease") { workload.ids.isEmpty }
            // Down for a while: the client's reconnection backs off, so the first
            // statements after the restart may wait past their patience.
            try await Task.sleep(for: .seconds(6))
            try server.start()
            try await waitFor("the job to run again") { try await store.job(1)?.attempts == 2 && workload.ids == [1] }
            // A lease later it still runs, on its second attempt.
            try await Task.sleep(for: .seconds(3.5))
            let job = try await store.job(1)
            XCTAssertEqual(job?.state, "running")
            XCTAssertEqual(job?.attempts, 2)
            XCTAssertEqual(workload.ids, [1])
            XCTAssertEqual(workload.starts, 2)
            loop.cancel()
            _ = await loop.value
            await node.leave()
        }
    }
}
