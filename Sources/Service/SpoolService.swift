import Analytics
import Detection
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
    private let events: TrackEvents

    init(
        spool: Spool, config: Locked<ServiceConfig>, detectors: DetectorPool, state: ServiceState, logger: Logger,
        version: String,
        running: RunningJobs = RunningJobs(), events: TrackEvents = TrackEvents()
    ) {
        self.running = running
        self.events = events
        self.spool = spool
        self.config = config
        self.detectors = detectors
        self.state = state
        self.logger = logger
        self.version = version
    }

    func run() async throws {
        var queue: [String] = []
        for name in spool.leftInProcessing() {
            if spool.isMarkedCancelled(name) {
                logger.notice("job \(name) left in processing/ was cancelled: not run again")
                spool.fail(name, error: Self.cancelled)
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
                    running.start(name) { [self] stop in runJob(name, settings: settings, stop: stop) }
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

    /// Jobs are counted together, as `source="spool"`: one series per job would
    /// never end.
    static let metrics = PipelineMetrics(source: "spool")

    /// The error a cancelled job is moved to `failed/` with.
    static let cancelled = "cancelled over the HTTP API"

    /// A job that gave no frame for `stallSeconds`.
    private struct JobStalled: Error, CustomStringConvertible {
        let description: String
    }

    /// A URL job redirected where URL jobs may not fetch from.
    private struct JobRefused: Error, CustomStringConvertible {
        let description: String
    }

    /// A job stopped before its end: cancelled over the API (to `failed/`, for good),
    /// or by a shutdown (left in `processing/` to run again at the next start).
    private func stopped(_ name: String, frames: Int) {
        if running.isCancelled(name) {
            logger.notice("job \(name): cancelled after \(frames) frames")
            spool.fail(name, error: Self.cancelled)
            state.jobEnded(name, .cancelled)
        } else {
            logger.notice("job \(name): stopped after \(frames) frames; left in processing/ to resume")
            state.jobEnded(name, .stopped)
        }
    }

    /// One job, start to end, on its own thread.
    private func runJob(_ name: String, settings: ServiceConfig, stop: StopSignal) {
        let spec: JobSpec
        do {
            spec = try JobSpec.load(name, spool: spool, maxJobBytes: settings.maxJobBytes)
        } catch {
            let error = redactingCredentials("\(error)")
            logger.error("\(error)")
            state.jobEnded(name, .failed(error))
            spool.fail(name, error: error)
            return
        }
        // A job submitted over a token-protected API (named api-…) may not reach this
        // host's loopback or link-local services, before or after redirects.
        let guarded = name.hasPrefix(JobsAPI.prefix) && settings.http?.token != nil
        if spec.source.contains("://"), let why = settings.urlJobs.refusal(of: spec.source, guarded: guarded) {
            let error = "\(name): \(redactingCredentials(spec.source)): \(why)"
            logger.error("\(error)")
            state.jobEnded(name, .failed(error))
            spool.fail(name, error: error)
            return
        }
        let logPath = spool.logPath(name)
        logger.info("job \(name): tracking \(redactingCredentials(spec.source)) -> \(logPath)")
        state.jobStarted(name, log: logPath)
        let watch = ProgressWatch(limit: settings.stallSeconds, stop: stop)
        var failure: String?
        do {
            let detector = try detectors.take(settings.detector)
            let outputs = try RunOutputs(logPath: logPath, motPath: nil)
            let source: VideoSource
            do {
                // The job's stop ends a wait on the source at once (a cancel, a
                // shutdown, or the watch).
                source = try VideoSource(
                    path: spec.source, detector: detector, options: settings.detector.options,
                    selection: spec.selection, keepsPictures: settings.tracker.visual, stop: stop, metrics: Self.metrics)
            } catch  where stop.requested != nil {
                outputs.discard()
                if let stalled = watch.failure { throw JobStalled(description: stalled) }
                return stopped(name, frames: 0)
            } catch {
                outputs.discard()
                throw error
            }
            if let location = source.location, let why = settings.urlJobs.refusal(of: location, guarded: guarded) {
                source.cancel()
                outputs.discard()
                throw JobRefused(description: "redirected to \(redactingCredentials(location)): \(why)")
            }
            if let turn = source.video.rotation {
                logger.warning(
                    "job \(name): the picture is to be turned \(turn)° clockwise for display; tracked as stored (video.rotation in the log's header)"
                )
            }
            let run = TrackRun(tracker: settings.tracker, trackdVersion: version, analytics: spec.analytics)
            var sinks: [any FrameSink] = [
                EventsSink(source: "job:" + name, maxLostSeconds: settings.tracker.maxLostSeconds, events: events)
            ]
            if spec.analytics != nil { sinks.append(AnalyticsMetricsSink(source: "spool")) }
            let result = try run.run(source, outputs: outputs, stop: stop, metrics: Self.metrics, sinks: sinks) {
                [state] p in
                watch.advanced()
                state.jobProgress(name, frames: p.frames, fps: p.framesPerSecond)
            }
            switch result.status {
            case .complete:
                logger.info("job \(name): \(result.frames) frames, \(result.tracks) tracks -> \(logPath)")
                spool.complete(name)
            case .interrupted:
                if let stalled = watch.failure { throw JobStalled(description: stalled) }
                return stopped(name, frames: result.frames)
            case .failed:
                failure = result.error ?? "failed"
            }
        } catch let error as AnalyticsConfig.ReadError {
            failure = "analytics.\(error)"
        } catch {
            failure = redactingCredentials("\(error)")
        }
        if let failure {
            logger.error("job \(name) failed: \(failure)")
            spool.fail(name, error: failure)
            state.jobEnded(name, .failed(failure))
        } else {
            state.jobEnded(name, .done)
        }
    }
}
