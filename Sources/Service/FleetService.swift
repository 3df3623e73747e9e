import Fleet
import Foundation
import Logging
import Metrics
import Pipeline
import ServiceFiles
import ServiceLifecycle

/// This host as a node of a fleet: `FleetNode` (heartbeat, claims, leases) with the
/// spool's workers as its workload. A fleet's job runs as the spool runs its own
/// (`processing/fleet-<id>.json`, logged under `logs/`, then `done/` or `failed/`).
/// On graceful shutdown its jobs stop after their current frame, go back to the
/// queue at once, and the node leaves the fleet.
final class FleetService: Service, Sendable {
    private let node: FleetNode
    private let spool: Spool
    private let logger: Logger

    static let queued = Gauge(label: "trackd_fleet_queued_jobs")

    init(
        store: FleetStore, fleet: ServiceConfig.FleetConfig, generation: Int64, config: Locked<ServiceConfig>, spool: Spool,
        running: RunningJobs, runner: JobRunner, streams: FleetStreams, state: ServiceState, logger: Logger
    ) {
        self.spool = spool
        self.logger = logger
        state.update { $0 = ServiceState.FleetNode(node: fleet.node, generation: generation) }
        let workload = SpoolWorkload(spool: spool, config: config, running: running, runner: runner, state: state)
        let report: @Sendable (Result<Int?, FleetNode.FleetFailure>) -> Void = { [state, logger] answer in
            switch answer {
            case .success(let queued):
                state.update {
                    $0?.databaseReachable = true
                    $0?.lastError = nil
                    if let queued { $0?.queuedJobs = queued }
                }
                if let queued { Self.queued.record(queued) }
            case .failure(let failure):
                if state.snapshot.fleet?.lastError != failure.message { logger.error("fleet: \(failure.message)") }
                state.fleetFailed(failure.message)
            }
        }
        node = FleetNode(
            store: store, name: fleet.node, generation: generation, leaseSeconds: fleet.leaseSeconds, workload: workload,
            streams: streams, pollSeconds: { [config] in config.value.pollSeconds }, logger: logger, report: report)
    }

    func run() async throws {
        // A fleet's job left in processing/ by a crash is run again by whichever node
        // claims it once its lease has run out: its file goes, its partial log stays.
        for name in spool.leftInProcessing() where fleetJobID(name) != nil {
            let kept = spool.keepPartialLog(name)
            unlink(spool.processing + "/" + name)
            logger.warning(
                "fleet job \(name) was interrupted here; the fleet runs it again\(kept.map { "; partial log kept as \($0)" } ?? "")"
            )
        }
        if let fenced = await cancelWhenGracefulShutdown({ [node] in await node.run() }) {
            logger.critical("fleet: \(fenced)")
            throw fenced
        }
        await node.leave()
    }
}

/// The spool's workers as a fleet node's workload: each claimed job written into
/// `processing/` and run by the spool's `JobRunner`.
private struct SpoolWorkload: FleetWorkload {
    let spool: Spool
    let config: Locked<ServiceConfig>
    let running: RunningJobs
    let runner: JobRunner
    let state: ServiceState

    func freeWorkers() -> Int { config.value.workers - running.count }

    func start(_ job: ClaimedJob, ended: @escaping @Sendable (FleetJobOutcome) -> Void) -> String? {
        let name = fleetJobName(job.id)
        let path = spool.processing + "/" + name
        _ = spool.keepPartialLog(name)
        // Hidden until whole, as a job dropped into the inbox.
        let hidden = spool.processing + "/." + name
        guard
            FileManager.default.createFile(
                atPath: hidden, contents: Data(job.spec.utf8), attributes: [.posixPermissions: 0o600]),
            rename(hidden, path) == 0
        else { return nil }
        let settings = config.value
        running.start(name) { [runner, spool] stop in
            let outcome = runner.run(name, settings: settings, stop: stop)
            if outcome == .stopped {
                // To run again from the start, here or elsewhere.
                _ = spool.keepPartialLog(name)
                unlink(spool.processing + "/" + name)
            }
            ended(outcome)
        }
        return spool.logPath(name)
    }

    func frames(_ id: Int64) -> Int {
        state.snapshot.jobs.first { $0.name == fleetJobName(id) }?.frames ?? 0
    }

    func stop(_ id: Int64, cancelled: Bool) -> Bool {
        let name = fleetJobName(id)
        guard cancelled else { return running.stop(name) }
        spool.markCancelled(name)
        return running.cancel(name)
    }

    func ended(_ id: Int64) async { await running.ended(fleetJobName(id)) }
}
