import Fleet
import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

// A fleet simulated against one real PostgreSQL (Benchmarks/fleet.sh starts it): N
// nodes, each the real coordination code (`FleetNode` over `FleetStore`, a client of
// its own with a daemon's 3 connections) with stub workloads in place of video; a
// queue of jobs that each "run" for a set time, and streams leased to the nodes. Prints
// claim and heartbeat latency, the statements per second the database took, the jobs'
// throughput, how the streams spread, and how long the jobs and streams of a node
// killed midway waited before other nodes took them.
//
//     FleetBenchmark <port> [nodes 50] [jobs 10000] [workers 4] [jobSeconds 5] [leaseSeconds 15]
//                    [streams 1000] [streamSlots 25]

let arguments = CommandLine.arguments.dropFirst().map { Double($0) ?? 0 }
guard let port = arguments.first.map(Int.init) else {
    FileHandle.standardError.write(
        Data("usage: FleetBenchmark <port> [nodes] [jobs] [workers] [jobSeconds] [leaseSeconds] [streams] [streamSlots]\n".utf8))
    exit(2)
}
func argument(_ k: Int, _ fallback: Double) -> Double { arguments.count > k ? arguments[k] : fallback }
let nodeCount = Int(argument(1, 50))
let jobCount = Int(argument(2, 10_000))
let workers = Int(argument(3, 4))
let jobSeconds = argument(4, 5)
let leaseSeconds = argument(5, 15)
let streamCount = Int(argument(6, 1000))
let streamSlots = Int(argument(7, 25))

let logger = {
    var logger = Logger(label: "fleet-benchmark")
    logger.logLevel = .error
    return logger
}()

func client() -> PostgresClient {
    var configuration = PostgresClient.Configuration(
        host: "127.0.0.1", port: port, username: "trackd", password: nil, database: "trackd", tls: .disable)
    configuration.options.maximumConnections = 3
    return PostgresClient(configuration: configuration, backgroundLogger: logger)
}

/// Durations of each statement, in seconds, by kind.
let timings = NIOLockedValueBox<[FleetStore.Statement: [Double]]>([:])

/// Jobs that sleep 0.5 to 1.5 times `jobSeconds` (videos differ; equal lengths would
/// lock every job's end to the nodes' renewals), `workers` at a time; a killed node's
/// jobs vanish without a word, as they would with the process.
final class StubWorkload: FleetWorkload {
    private let running = NIOLockedValueBox<[Int64: (task: Task<Void, Never>, started: ContinuousClock.Instant)]>([:])

    func freeWorkers() -> Int { workers - running.withLockedValue { $0.count } }

    func start(_ job: ClaimedJob, ended: @escaping @Sendable (FleetJobOutcome) -> Void) -> String? {
        // The same length for a job wherever it runs: a hash of its id.
        let spread = Double((UInt64(bitPattern: job.id) &* 0x9E37_79B9_7F4A_7C15) >> 11) / Double(1 << 53)
        let seconds = jobSeconds * (0.5 + spread)
        let task = Task { [running] in
            let finished = (try? await Task.sleep(for: .seconds(seconds))) != nil
            running.withLockedValue { _ = $0.removeValue(forKey: job.id) }
            ended(finished ? .done(frames: Int(seconds * 25)) : .stopped)
        }
        running.withLockedValue { $0[job.id] = (task, .now) }
        return "/sim/\(job.id).jsonl"
    }

    func frames(_ id: Int64) -> Int {
        running.withLockedValue { $0[id] }.map { Int((ContinuousClock.now - $0.started) / .milliseconds(40)) } ?? 0
    }

    func stop(_ id: Int64, cancelled: Bool) -> Bool {
        guard let job = running.withLockedValue({ $0[id] }) else { return false }
        job.task.cancel()
        return true
    }

    func ended(_ id: Int64) async { await running.withLockedValue { $0[id] }?.task.value }

    /// The process dies: its jobs stop, and nothing is told.
    func vanish() {
        running.withLockedValue { jobs in
            for job in jobs.values { job.task.cancel() }
            jobs.removeAll()
        }
    }
}

/// Which node tracks each stream, across the whole simulation: a stream started while
/// another node still tracks it is counted, as two at once.
let trackedBy = NIOLockedValueBox<(nodes: [String: String], twice: Int)>(([:], 0))

/// Streams "tracked" by a node: entries in `trackedBy` while its lease holds.
final class StubStreams: FleetStreamWorkload {
    let node: String
    let slots = streamSlots
    private let mine = NIOLockedValueBox<Set<String>>([])
    init(node: String) { self.node = node }

    func tracking() -> Set<String> { mine.withLockedValue { $0 } }

    func start(_ stream: ClaimedStream, leased: @escaping @Sendable () -> Bool) {
        mine.withLockedValue { _ = $0.insert(stream.name) }
        trackedBy.withLockedValue {
            if let other = $0.nodes[stream.name], other != node { $0.twice += 1 }
            $0.nodes[stream.name] = node
        }
    }

    func stop(_ name: String) async {
        mine.withLockedValue { _ = $0.remove(name) }
        trackedBy.withLockedValue { if $0.nodes[name] == node { $0.nodes[name] = nil } }
    }

    /// The process dies: what it tracked stops with it.
    func vanish() {
        for name in mine.withLockedValue({ $0 }) {
            trackedBy.withLockedValue { if $0.nodes[name] == node { $0.nodes[name] = nil } }
        }
        mine.withLockedValue { $0.removeAll() }
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
}

func ms(_ seconds: Double) -> String { String(format: "%.2f ms", seconds * 1000) }

let admin = client()
let adminTask = Task { await admin.run() }
let setup = FleetStore(client: admin, logger: logger)
try await setup.migrate()
try await admin.query(
    "TRUNCATE trackd_jobs, trackd_nodes, trackd_streams, trackd_stream_holders RESTART IDENTITY", logger: logger)
try await setup.declare(streams: (0..<streamCount).map { (String(format: "cam-%04d", $0), #"{"url": "rtsp://sim"}"#) })
try await admin.query(
    "INSERT INTO trackd_jobs (source, spec) SELECT 'sim/' || g || '.mp4', '{}' FROM generate_series(1, \(jobCount)) g",
    logger: logger)

func transactions() async throws -> Int {
    let rows = try await admin.query(
        "SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = 'trackd'", logger: logger)
    var total = 0
    for try await (n, ) in rows.decode((Int,).self) { total = n }
    return total
}

struct SimulatedNode {
    let node: FleetNode
    let workload: StubWorkload
    let streams: StubStreams
    let task: Task<FleetError?, Never>
    let clientTask: Task<Void, Never>
}

// Every node registered before any runs, so the first do not take more than a share.
var registered: [(FleetStore, String, Int64, Task<Void, Never>)] = []
for k in 0..<nodeCount {
    let c = client()
    let clientTask = Task { await c.run() }
    var store = FleetStore(client: c, logger: logger)
    store.observe = { statement, duration in
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        timings.withLockedValue { $0[statement, default: []].append(seconds) }
    }
    let name = String(format: "sim-%03d", k)
    let generation = try await store.register(
        NodeInfo(
            name: name, advertise: "http://\(name)", workers: workers, streamSlots: streamSlots, leaseSeconds: leaseSeconds))
    registered.append((store, name, generation, clientTask))
}
let nodes = registered.map { store, name, generation, clientTask in
    let workload = StubWorkload()
    let streams = StubStreams(node: name)
    let node = FleetNode(
        store: store, name: name, generation: generation, leaseSeconds: leaseSeconds, workload: workload,
        streams: streams, pollSeconds: { 1 }, logger: logger)
    return SimulatedNode(
        node: node, workload: workload, streams: streams, task: Task { await node.run() }, clientTask: clientTask)
}
print(
    "fleet simulation: \(nodeCount) nodes x \(workers) workers and \(streamSlots) stream slots, \(jobCount) jobs of "
        + "\(jobSeconds) s, \(streamCount) streams, lease \(leaseSeconds) s")

// Run: each second, the database's statements and the queue; at a quarter of the
// jobs, one node is killed and the time until its jobs run elsewhere measured.
let started = ContinuousClock.now
let firstCount = try await transactions()
var killedJobs: Set<Int64> = []
var killedStreams: Set<String> = []
var killedAt: ContinuousClock.Instant?
var failover: Double?
var streamFailover: Double?
var allLeased: Double?
var spread = ""
while true {
    try await Task.sleep(for: .seconds(1))
    if allLeased == nil {
        let held = nodes.map { $0.streams.tracking().count }
        if held.reduce(0, +) == streamCount {
            allLeased = (ContinuousClock.now - started) / .seconds(1)
            spread = "\(held.min() ?? 0) to \(held.max() ?? 0) per node"
        }
    }
    let rows = try await admin.query(
        "SELECT state, count(*)::bigint FROM trackd_jobs GROUP BY state", logger: logger)
    var states: [String: Int] = [:]
    for try await (state, n) in rows.decode((String, Int).self) { states[state] = n }
    if killedAt == nil, states["done", default: 0] >= jobCount / 4 {
        let victim = nodes[0]
        killedJobs = victim.node.held
        killedStreams = victim.streams.tracking()
        victim.task.cancel()
        victim.workload.vanish()
        victim.streams.vanish()
        victim.clientTask.cancel()
        killedAt = .now
        print("killed \(victim.node.name) holding \(killedJobs.count) jobs and \(killedStreams.count) streams")
    }
    if let killedAt, streamFailover == nil, !killedStreams.isEmpty {
        let tracked = trackedBy.withLockedValue { $0.nodes }
        if killedStreams.allSatisfy({ tracked[$0] != nil }) { streamFailover = (ContinuousClock.now - killedAt) / .seconds(1) }
    }
    if let killedAt, failover == nil, !killedJobs.isEmpty {
        let rows = try await admin.query(
            "SELECT count(*)::bigint FROM trackd_jobs WHERE id = ANY(\(Array(killedJobs))) AND attempts >= 2", logger: logger)
        var taken = 0
        for try await (n, ) in rows.decode((Int,).self) { taken = n }
        if taken == killedJobs.count { failover = (ContinuousClock.now - killedAt) / .seconds(1) }
    }
    if states["done", default: 0] == jobCount, killedAt == nil || killedStreams.isEmpty || streamFailover != nil { break }
    if ContinuousClock.now - started > .seconds(3600) {
        print("gave up after an hour: \(states)")
        break
    }
}
let elapsed = (ContinuousClock.now - started) / .seconds(1)
for n in nodes { n.task.cancel() }
// Backends report their counts to the statistics now and then: a moment for the last.
try await Task.sleep(for: .seconds(2))
let databaseRate = Double(try await transactions() - firstCount) / (elapsed + 2)

let all = timings.withLockedValue { $0 }
func line(_ statement: FleetStore.Statement) -> String {
    let values = all[statement] ?? []
    return String(
        format: "  %@ %8d calls %7.1f /s   p50 %@   p99 %@",
        statement.rawValue.padding(toLength: 14, withPad: " ", startingAt: 0) as NSString, values.count,
        Double(values.count) / elapsed, ms(percentile(values, 0.5)) as NSString, ms(percentile(values, 0.99)) as NSString)
}
print(
    String(
        format: "all %d jobs done in %.1f s: %.1f jobs/s (ideal %.1f)", jobCount, elapsed, Double(jobCount) / elapsed,
        Double((nodeCount - 1) * workers) / jobSeconds))
print("statements by kind (the nodes' own, timed from each node, answer read):")
for statement in FleetStore.Statement.allCases where all[statement] != nil { print(line(statement)) }
let nodeStatements = all.values.map(\.count).reduce(0, +)
print(
    String(
        format:
            "the nodes' statements: %.1f /s; the database's transactions (pg_stat_database, this program's own included): %.1f /s",
        Double(nodeStatements) / elapsed, databaseRate))
let renewals =
    Double((all[.heartbeat]?.count ?? 0) + (all[.extend]?.count ?? 0) + (all[.renewStreams]?.count ?? 0)) / elapsed
print(
    String(
        format: "heartbeat and lease renewal: %.1f statements/s for %d nodes (%.2f per node per second)", renewals, nodeCount,
        renewals / Double(nodeCount)))
if let failover {
    print(
        String(
            format: "failover: the killed node's %d jobs ran again elsewhere %.1f s after the kill (lease %.0f s)",
            killedJobs.count, failover, leaseSeconds))
} else {
    print("failover: not measured (the killed node held no job)")
}
if let allLeased {
    print(String(format: "streams: all %d tracked %.1f s after the start, %@", streamCount, allLeased, spread as NSString))
}
if let streamFailover {
    print(
        String(
            format: "stream failover: the killed node's %d streams tracked elsewhere %.1f s after the kill (lease %.0f s)",
            killedStreams.count, streamFailover, leaseSeconds))
}
print("streams tracked by two nodes at once: \(trackedBy.withLockedValue { $0.twice })")
let check = try await admin.query(
    "SELECT count(*)::bigint, count(*) FILTER (WHERE attempts = 1)::bigint FROM trackd_jobs WHERE state = 'done'",
    logger: logger)
for try await (done, once) in check.decode((Int, Int).self) {
    print("done: \(done) of \(jobCount) jobs, \(once) of them on their first attempt")
}
adminTask.cancel()
