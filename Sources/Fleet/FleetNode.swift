import Logging
import NIOConcurrencyHelpers

/// How a job a node ran ended.
public enum FleetJobOutcome: Sendable, Equatable {
    case done(frames: Int)
    case failed(String)
    case cancelled
    /// Stopped to run again (elsewhere): a shutdown, or a lease not renewed in time.
    case stopped
}

/// What a node runs the fleet's jobs on: the daemon's workers, or a benchmark's stub.
public protocol FleetWorkload: Sendable {
    /// Workers free for the fleet's jobs now.
    func freeWorkers() -> Int
    /// Starts a claimed job and calls `ended` once when it ends; returns where its log
    /// is written, or nil when it cannot start (it runs again after its lease).
    func start(_ job: ClaimedJob, ended: @escaping @Sendable (FleetJobOutcome) -> Void) -> String?
    /// Frames the job has done so far.
    func frames(_ id: Int64) -> Int
    /// Asks the job to stop after its current frame, for good (`cancelled`) or to run
    /// again elsewhere; false when it does not run.
    func stop(_ id: Int64, cancelled: Bool) -> Bool
    /// Returns once the job has ended.
    func ended(_ id: Int64) async
}

/// What a node tracks the fleet's streams on: the daemon's stream services, or a
/// benchmark's stub.
public protocol FleetStreamWorkload: Sendable {
    /// Streams it may track at once.
    var slots: Int { get }
    /// The streams it tracks now: a stream leaves the set as soon as its stop begins.
    func tracking() -> Set<String>
    /// Starts tracking a stream leased to this node, for as long as `leased` holds:
    /// the tracking checks it before each frame, and stops once it is false.
    func start(_ stream: ClaimedStream, leased: @escaping @Sendable () -> Bool)
    /// Stops tracking a stream whose lease is lost (or which was removed); returns once
    /// it has stopped.
    func stop(_ name: String) async
}

/// The name a fleet's job has in the API and in a node's spool: `fleet-<id>.json`.
public func fleetJobName(_ id: Int64) -> String { "fleet-\(id).json" }

/// The database id of a job named `fleet-<id>.json`; nil for any other name.
public func fleetJobID(_ name: String) -> Int64? {
    guard name.hasPrefix("fleet-"), name.hasSuffix(".json") else { return nil }
    return Int64(name.dropFirst(6).dropLast(5)).flatMap { $0 > 0 ? $0 : nil }
}

/// One node's part in a fleet, apart from what it runs: it renews the node's lease
/// (the heartbeat) and its jobs' and streams' leases every `leaseSeconds / 3`, claims
/// queued jobs while its workload has free workers and free streams while it has free
/// stream slots, and ends jobs in the database once. A job or stream no longer its own
/// (cancelled or removed, or taken over) is stopped; so is everything when the leases
/// could not be renewed for 0.8 of `leaseSeconds`, before another node may take it.
public final class FleetNode: Sendable {
    public let name: String
    public let generation: Int64
    public let leaseSeconds: Double
    private let store: FleetStore
    private let workload: any FleetWorkload
    private let streams: (any FleetStreamWorkload)?
    private let pollSeconds: @Sendable () -> Double
    private let logger: Logger
    /// Called after each exchange with the database: nil when it answered (with the
    /// queue's depth after a renewal), the failure in words otherwise.
    private let report: @Sendable (Result<Int?, FleetFailure>) -> Void
    /// The jobs this node holds, and those that ended and are still to be recorded (a
    /// failed statement is tried again at the next tick).
    private let mine = NIOLockedValueBox<Set<Int64>>([])
    private let endedJobs = NIOLockedValueBox<[Int64: FleetJobOutcome]>([:])
    /// Jobs asked to stop, not yet ended: asked once.
    private let stopping = NIOLockedValueBox<Set<Int64>>([])
    /// Jobs the workload could not start (its spool unwritable), and when: left to
    /// their lease, so that another node may take them, rather than claimed again.
    private let refused = NIOLockedValueBox<[Int64: ContinuousClock.Instant]>([:])
    /// When the last successful renewal was sent: what it renewed lasts until then
    /// plus `leaseSeconds` on the database's clock, which is no earlier.
    private let renewed = NIOLockedValueBox(ContinuousClock.now)

    public struct FleetFailure: Error, Sendable {
        public var message: String
    }

    public init(
        store: FleetStore, name: String, generation: Int64, leaseSeconds: Double, workload: any FleetWorkload,
        streams: (any FleetStreamWorkload)? = nil, pollSeconds: @escaping @Sendable () -> Double, logger: Logger,
        report: @escaping @Sendable (Result<Int?, FleetFailure>) -> Void = { _ in }
    ) {
        self.store = store
        self.name = name
        self.generation = generation
        self.leaseSeconds = leaseSeconds
        self.workload = workload
        self.streams = streams
        self.pollSeconds = pollSeconds
        self.logger = logger
        self.report = report
    }

    /// The jobs this node holds now.
    public var held: Set<Int64> { mine.withLockedValue { $0 } }

    /// The jobs it holds that have not ended.
    private var unended: Set<Int64> { held.subtracting(endedJobs.withLockedValue { $0.keys }) }

    /// Runs until cancelled (nil) or fenced off by a newer process of the same name
    /// (that error, once every job it held has stopped).
    public func run() async -> FleetError? {
        let renewEvery = leaseSeconds / 3
        // A statement that has not answered by then is given up: the next tries again.
        let patience = min(renewEvery, 2)
        renewed.withLockedValue { $0 = .now }
        let fenced = try? await withThrowingTaskGroup(of: FleetError?.self) { group in
            // The lease's guard, apart from the loop (whose statements may be waiting).
            group.addTask { [self] in
                while true {
                    if !leaseHolds {
                        stopAll(reason: "its lease was not renewed in time")
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            group.addTask { [self] in
                var lastRenewal = ContinuousClock.now - .seconds(renewEvery)
                while true {
                    let now = ContinuousClock.now
                    do {
                        // A renewal that failed is tried again at the next poll, not a
                        // third of the lease later.
                        if now - lastRenewal >= .seconds(renewEvery) {
                            let queued = try await withDeadline(seconds: patience, "renewing leases") {
                                try await self.renew()
                            }
                            lastRenewal = now
                            renewed.withLockedValue { $0 = now }
                            report(.success(queued))
                        }
                        try await withDeadline(seconds: patience, "claiming jobs") {
                            try await self.recordEnded()
                            if try await self.claim() { self.report(.success(nil)) }
                        }
                    } catch FleetError.fenced(let name) {
                        return FleetError.fenced(name)
                    } catch is CancellationError {
                        throw CancellationError()
                    } catch {
                        report(.failure(FleetFailure(message: databaseErrorDescription(error))))
                    }
                    try await Task.sleep(for: .seconds(min(pollSeconds(), renewEvery)))
                }
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        guard let fenced = fenced ?? nil else { return nil }
        stopAll(reason: "this node was fenced off")
        for id in held { await workload.ended(id) }
        return fenced
    }

    /// A graceful stop, after `run`: this node's jobs stop after their current frame,
    /// go back to the queue at once, and the node leaves the fleet.
    public func leave() async {
        let jobs = held
        for id in jobs { _ = workload.stop(id, cancelled: false) }
        for id in jobs { await workload.ended(id) }
        let tracked = streams?.tracking() ?? []
        for stream in tracked { await streams?.stop(stream) }
        do {
            try await store.releaseStreams(Array(tracked), node: name, generation: generation)
            // Those that ended done are recorded first; the rest are still running in the
            // database, and go back to the queue.
            try await recordEnded()
            try await store.release(jobs: Array(jobs), node: name, generation: generation)
            try await store.leave(node: name, generation: generation)
        } catch {
            logger.warning(
                "fleet: could not give back this node's jobs (they run again after their lease): \(databaseErrorDescription(error))"
            )
        }
    }

    /// The node's heartbeat and its jobs' leases, with their progress; stops a job that
    /// is no longer this node's. Returns the queue's depth.
    private func renew() async throws -> Int {
        guard try await store.heartbeat(node: name, generation: generation) else { throw FleetError.fenced(name) }
        let running = unended
        let progress = Dictionary(uniqueKeysWithValues: running.map { ($0, workload.frames($0)) })
        let kept = try await store.extend(jobs: progress, node: name, generation: generation, leaseSeconds: leaseSeconds)
        for id in running.subtracting(kept) {
            let cancelled = try await store.job(id)?.state == "cancelled"
            logger.notice(
                "fleet job \(fleetJobName(id)) \(cancelled ? "was cancelled" : "is no longer this node's"): stopping it")
            _ = workload.stop(id, cancelled: cancelled)
        }
        try await renewStreams()
        return try await store.queueDepth()
    }

    /// Renews the streams this node tracks; stops those no longer its own.
    private func renewStreams() async throws {
        guard let streams else { return }
        let tracked = streams.tracking()
        let kept = try await store.renewStreams(Array(tracked), node: name, generation: generation, leaseSeconds: leaseSeconds)
        for lost in tracked.subtracting(kept).sorted() {
            logger.warning("fleet stream \(lost) is no longer this node's (removed, or its lease ran out): stopping it")
            await streams.stop(lost)
        }
    }

    /// Whether what the last renewal renewed may still be tracked: until 0.8 of the
    /// lease after it was sent, before another node may take it.
    private var leaseHolds: Bool { ContinuousClock.now - renewed.withLockedValue { $0 } < .seconds(leaseSeconds * 0.8) }

    /// Records the jobs that ended since the last tick.
    private func recordEnded() async throws {
        for (id, outcome) in endedJobs.withLockedValue({ $0 }).sorted(by: { $0.key < $1.key }) {
            switch outcome {
            case .done(let frames):
                if try await !store.finish(job: id, node: name, generation: generation, state: .done, frames: frames) {
                    logger.warning("fleet job \(fleetJobName(id)) ended, but it was no longer this node's")
                }
            case .failed(let error):
                _ = try await store.finish(job: id, node: name, generation: generation, state: .failed, frames: 0, error: error)
            case .cancelled, .stopped:
                break
            }
            endedJobs.withLockedValue { $0[id] = nil }
            stopping.withLockedValue { _ = $0.remove(id) }
            mine.withLockedValue { _ = $0.remove(id) }
        }
    }

    /// Claims queued jobs for the free workers and free streams for the free stream
    /// slots (up to this node's share), and starts them; whether it asked.
    private func claim() async throws -> Bool {
        var asked = false
        if let streams, streams.slots > streams.tracking().count, leaseHolds {
            asked = true
            for stream in try await store.claimStreams(
                node: name, generation: generation, slots: streams.slots, tracking: streams.tracking(),
                leaseSeconds: leaseSeconds)
            {
                logger.info("fleet stream \(stream.name): leased to this node")
                streams.start(stream) { [self] in leaseHolds }
            }
        }
        // Nothing is claimed while the lease does not hold: the guard would stop it at
        // once, and it would wait a whole lease to run again.
        let free = workload.freeWorkers()
        guard free > 0, leaseHolds else { return asked }
        let lease = Duration.seconds(leaseSeconds)
        let left = refused.withLockedValue { refused in
            refused = refused.filter { ContinuousClock.now - $0.value < lease }
            return Set(refused.keys)
        }
        for job in try await store.claim(
            node: name, generation: generation, limit: free, holding: held.union(left), leaseSeconds: leaseSeconds)
        {
            mine.withLockedValue { _ = $0.insert(job.id) }
            let log = workload.start(job) { [endedJobs] outcome in endedJobs.withLockedValue { $0[job.id] = outcome } }
            guard let log else {
                mine.withLockedValue { _ = $0.remove(job.id) }
                refused.withLockedValue { $0[job.id] = .now }
                continue
            }
            logger.info("fleet job \(fleetJobName(job.id)): claimed (attempt \(job.attempt))")
            try await store.started(job: job.id, log: log, node: name, generation: generation)
        }
        return true
    }

    /// Stops every job this node runs (they run again elsewhere).
    private func stopAll(reason: String) {
        for id in unended where stopping.withLockedValue({ $0.insert(id).inserted }) && workload.stop(id, cancelled: false) {
            logger.warning("fleet job \(fleetJobName(id)): stopped, \(reason)")
        }
        guard let streams else { return }
        for stream in streams.tracking().sorted() {
            logger.warning("fleet stream \(stream): stopped, \(reason)")
            Task { await streams.stop(stream) }
        }
    }
}
