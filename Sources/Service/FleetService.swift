import Fleet
import Foundation
import Logging
import Metrics
import Pipeline
import ServiceFiles
import ServiceLifecycle

/// This host as a node of a fleet: it renews its node's lease (the heartbeat) and
/// its jobs' leases, claims queued jobs while it has a free worker, runs them as the
/// spool runs its own (`processing/fleet-<id>.json`, logged under `logs/`), and ends
/// them in the database. A job whose lease it could not renew in time is stopped
/// (another node runs it again); one cancelled in the database is cancelled here.
/// On graceful shutdown its jobs stop after their current frame, go back to the
/// queue at once, and the node leaves the fleet.
final class FleetService: Service, Sendable {
    private let store: FleetStore
    private let fleet: ServiceConfig.FleetConfig
    private let generation: Int64
    private let config: Locked<ServiceConfig>
    private let spool: Spool
    private let running: RunningJobs
    private let runner: JobRunner
    private let state: ServiceState
    private let logger: Logger
    /// The jobs this node runs, by id, and those that ended and are still to be
    /// recorded (a failed statement is tried again at the next tick).
    private let mine = Locked<Set<Int64>>([])
    private let ended = Locked<[Int64: JobRunner.Outcome]>([:])

    static let queued = Gauge(label: "trackd_fleet_queued_jobs")

    init(
        store: FleetStore, fleet: ServiceConfig.FleetConfig, generation: Int64, config: Locked<ServiceConfig>, spool: Spool,
        running: RunningJobs, runner: JobRunner, state: ServiceState, logger: Logger
    ) {
        self.store = store
        self.fleet = fleet
        self.generation = generation
        self.config = config
        self.spool = spool
        self.running = running
        self.runner = runner
        self.state = state
        self.logger = logger
        state.update { $0 = ServiceState.FleetNode(node: fleet.node, generation: generation) }
    }

    func run() async throws {
        // A fleet's job left in processing/ by a crash is run again by whichever node
        // claims it once its lease has run out: its file goes, its partial log stays.
        for name in spool.leftInProcessing() where FleetJobs.id(name) != nil {
            let kept = spool.keepPartialLog(name)
            unlink(spool.processing + "/" + name)
            logger.warning(
                "fleet job \(name) was interrupted here; the fleet runs it again\(kept.map { "; partial log kept as \($0)" } ?? "")"
            )
        }
        let renewEvery = fleet.leaseSeconds / 3
        // A statement that has not answered by then is given up: the next tries again.
        let patience = min(renewEvery, 2)
        // When the last successful renewal was sent: what it renewed lasts until then
        // plus leaseSeconds on the database's clock, which is no earlier.
        let renewed = Locked(ContinuousClock.now)
        let fenced = try? await cancelWhenGracefulShutdown { [self] () async throws -> FleetError in
            try await withThrowingTaskGroup(of: FleetError?.self) { group in
                // The lease's guard, apart from the loop (whose statements may be waiting):
                // what was not renewed in time may be another node's soon, so it stops
                // with a fifth of the lease to spare.
                group.addTask { [self] in
                    while true {
                        if ContinuousClock.now - renewed.value >= .seconds(fleet.leaseSeconds * 0.8) {
                            stopAll(reason: "its lease was not renewed in time")
                        }
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                group.addTask { [self] in
                    var lastRenewal = ContinuousClock.now - .seconds(renewEvery)
                    while true {
                        let settings = config.value
                        let now = ContinuousClock.now
                        do {
                            if now - lastRenewal >= .seconds(renewEvery) {
                                lastRenewal = now
                                try await withDeadline(seconds: patience, "renewing leases") { try await self.renew() }
                                renewed.value = now
                                state.update {
                                    $0?.databaseReachable = true
                                    $0?.lastError = nil
                                }
                            }
                            try await withDeadline(seconds: patience, "claiming jobs") {
                                try await self.recordEnded()
                                try await self.claim(settings)
                            }
                        } catch FleetError.fenced(let name) {
                            return FleetError.fenced(name)
                        } catch is CancellationError {
                            throw CancellationError()
                        } catch {
                            let message = databaseErrorDescription(error)
                            if state.snapshot.fleet?.lastError != message { logger.error("fleet: \(message)") }
                            state.fleetFailed(message)
                        }
                        try await Task.sleep(for: .seconds(min(settings.pollSeconds, renewEvery)))
                    }
                }
                defer { group.cancelAll() }
                return try await group.next()! ?? FleetError.noAnswer("the fleet's loop")
            }
        }
        if let fenced {
            stopAll(reason: "this node was fenced off")
            for id in mine.value { await running.ended(FleetJobs.name(id)) }
            logger.critical("fleet: \(fenced)")
            throw fenced
        }
        // Graceful shutdown: stop this node's jobs, give them back, and leave.
        let held = Array(mine.value)
        for id in held { _ = running.stop(FleetJobs.name(id)) }
        for id in held { await running.ended(FleetJobs.name(id)) }
        do {
            try await recordEnded()
            try await store.release(jobs: Array(mine.value), node: fleet.node, generation: generation)
            try await store.leave(node: fleet.node, generation: generation)
        } catch {
            logger.warning(
                "fleet: could not give back this node's jobs (they run again after their lease): \(databaseErrorDescription(error))"
            )
        }
    }

    /// The node's heartbeat and its jobs' leases, with their progress; stops a job that
    /// is no longer this node's (cancelled, or taken over).
    private func renew() async throws {
        guard try await store.heartbeat(node: fleet.node, generation: generation) else {
            throw FleetError.fenced(fleet.node)
        }
        let frames = Dictionary(uniqueKeysWithValues: state.snapshot.jobs.map { ($0.name, $0.frames) })
        let held = mine.value.subtracting(ended.value.keys)
        let progress = Dictionary(uniqueKeysWithValues: held.map { ($0, frames[FleetJobs.name($0)] ?? 0) })
        let kept = try await store.extend(
            jobs: progress, node: fleet.node, generation: generation, leaseSeconds: fleet.leaseSeconds)
        for id in held.subtracting(kept) {
            let name = FleetJobs.name(id)
            if try await store.job(id)?.state == "cancelled" {
                logger.notice("fleet job \(name) was cancelled: stopping it")
                _ = running.cancel(name)
                spool.markCancelled(name)
            } else {
                logger.warning("fleet job \(name) is no longer this node's: stopping it")
                _ = running.stop(name)
            }
        }
        let queued = try await store.queueDepth()
        Self.queued.record(queued)
        state.update { $0?.queuedJobs = queued }
    }

    /// Records the jobs that ended since the last tick.
    private func recordEnded() async throws {
        for (id, outcome) in ended.value.sorted(by: { $0.key < $1.key }) {
            switch outcome {
            case .done(let frames):
                if try await !store.finish(job: id, node: fleet.node, generation: generation, state: .done, frames: frames) {
                    logger.warning("fleet job \(FleetJobs.name(id)) ended, but it was no longer this node's")
                }
            case .failed(let error):
                _ = try await store.finish(
                    job: id, node: fleet.node, generation: generation, state: .failed, frames: 0, error: error)
            case .cancelled, .stopped:
                break
            }
            ended.withLock { $0[id] = nil }
            mine.withLock { _ = $0.remove(id) }
        }
    }

    /// Claims queued jobs for the free workers (the spool's own jobs share them).
    private func claim(_ settings: ServiceConfig) async throws {
        let free = settings.workers - running.count
        guard free > 0 else { return }
        let claimed = try await store.claim(
            node: fleet.node, generation: generation, limit: free, leaseSeconds: fleet.leaseSeconds)
        for job in claimed {
            let name = FleetJobs.name(job.id)
            let path = spool.processing + "/" + name
            if let kept = spool.keepPartialLog(name) { logger.info("fleet job \(name): an earlier log is kept as \(kept)") }
            // Hidden until whole, as a job dropped into the inbox.
            let hidden = spool.processing + "/." + name
            guard
                FileManager.default.createFile(
                    atPath: hidden, contents: Data(job.spec.utf8), attributes: [.posixPermissions: 0o600]),
                rename(hidden, path) == 0
            else {
                logger.error("fleet job \(name): cannot write \(path); it runs again elsewhere after its lease")
                continue
            }
            try await store.started(job: job.id, log: spool.logPath(name), node: fleet.node, generation: generation)
            logger.info("fleet job \(name): claimed (attempt \(job.attempt))")
            mine.withLock { _ = $0.insert(job.id) }
            running.start(name) { [runner, spool, ended] stop in
                let outcome = runner.run(name, settings: settings, stop: stop)
                if case .stopped = outcome {
                    // To run again from the start, here or elsewhere.
                    _ = spool.keepPartialLog(name)
                    unlink(spool.processing + "/" + name)
                }
                ended.withLock { $0[job.id] = outcome }
            }
        }
    }

    /// Stops every job this node runs (they run again elsewhere).
    private func stopAll(reason: String) {
        for id in mine.value.subtracting(ended.value.keys) where running.stop(FleetJobs.name(id)) {
            logger.warning("fleet job \(FleetJobs.name(id)): stopped, \(reason)")
        }
    }
}
