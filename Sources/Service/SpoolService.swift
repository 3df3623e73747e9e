import Analytics
import Detection
import Fleet
import Foundation
import Logging
import Pipeline
import ServiceFiles
import ServiceLifecycle
import TrackLog
import VideoIO

/// Claims jobs from the spool and runs up to `workers` of them at once, each on its
/// own thread. On start, jobs left in `processing/` by a crash or a stop run again
/// first (their partial logs kept under another name). On graceful shutdown it
/// stops claiming and asks running jobs to stop after their current frame; they end
/// their logs as `interrupted` and stay in `processing/` for the next start.
final class SpoolService: Service, Sendable {
    private let spool: Spool
    private let config: Locked<ServiceConfig>
    private let detectors: DetectorPool
    private let state: ServiceState
    private let logger: Logger
    private let version: String
    private let running: RunningJobs
    private let runner: JobRunner

    init(
        spool: Spool, config: Locked<ServiceConfig>, detectors: DetectorPool, state: ServiceState, logger: Logger,
        version: String,
        running: RunningJobs = RunningJobs(), events: TrackEvents = TrackEvents()
    ) {
        self.running = running
        runner = JobRunner(
            spool: spool, detectors: detectors, state: state, logger: logger, version: version, running: running, events: events)
        self.spool = spool
        self.config = config
        self.detectors = detectors
        self.state = state
        self.logger = logger
        self.version = version
    }

    func run() async throws {
        var queue: [String] = []
        // A fleet's job left here is the fleet's to run again (see FleetService).
        for name in spool.leftInProcessing() where fleetJobID(name) == nil {
            if spool.isMarkedCancelled(name) {
                logger.notice("job \(name) left in processing/ was cancelled: not run again")
                spool.fail(name, error: JobRunner.cancelled)
                continue
            }
            if let kept = spool.keepPartialLog(name) {
                logger.warning("resuming job \(name) left in processing/; its partial log is kept as \(kept)")
            } else {
                logger.warning("resuming job \(name) left in processing/")
            }
            queue.append(name)
        }
        // Claims and starts jobs until the graceful shutdown (or a cancellation) ends
        // the wait between two looks at the inbox.
        try? await cancelWhenGracefulShutdown { [self, queue] in
            var queue = queue
            while true {
                let settings = config.value
                while running.count < settings.workers {
                    if queue.isEmpty, let claimed = claimOne(settings) { queue.append(claimed) }
                    guard !queue.isEmpty else { break }
                    let name = queue.removeFirst()
                    running.start(name) { [runner] stop in _ = runner.run(name, settings: settings, stop: stop) }
                }
                try await Task.sleep(nanoseconds: UInt64(settings.pollSeconds * 1e9))
            }
        }
        // Ask running jobs to stop after their current frame and wait for them.
        await running.stopAll()
    }

    /// Claims one ready file of the inbox: a rename that fails means another process
    /// took it.
    private func claimOne(_ settings: ServiceConfig) -> String? {
        for candidate in spool.ready(stableSeconds: settings.stableSeconds) {
            guard let claimed = spool.claim(candidate) else { continue }
            if claimed != candidate { logger.info("job \(candidate) is \(claimed): another job had its name") }
            return claimed
        }
        return nil
    }
}
