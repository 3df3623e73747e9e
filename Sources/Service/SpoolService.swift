import Detection
import Foundation
import Logging
import Pipeline
import ServiceLifecycle
import TrackLog

/// The configuration in force; SIGHUP replaces it for jobs that start afterwards.
public final class ConfigBox: @unchecked Sendable {
    private let lock = NSLock()
    private var config: ServiceConfig

    public init(_ config: ServiceConfig) { self.config = config }

    public var current: ServiceConfig {
        lock.lock()
        defer { lock.unlock() }
        return config
    }

    public func replace(_ config: ServiceConfig) {
        lock.lock()
        self.config = config
        lock.unlock()
    }
}

/// Claims jobs from the spool and runs up to `workers` of them at once, each on its
/// own thread. On start, jobs left in `processing/` by a crash or a stop run again
/// first (their partial logs kept under another name). On graceful shutdown it
/// stops claiming and asks running jobs to stop after their current frame; they end
/// their logs as `interrupted` and stay in `processing/` for the next start.
final class SpoolService: Service, @unchecked Sendable {
    private let spool: Spool
    private let config: ConfigBox
    private let detectors: DetectorPool
    private let state: ServiceState
    private let logger: Logger
    private let version: String

    init(spool: Spool, config: ConfigBox, detectors: DetectorPool, state: ServiceState, logger: Logger, version: String) {
        self.spool = spool
        self.config = config
        self.detectors = detectors
        self.state = state
        self.logger = logger
        self.version = version
    }

    /// A job's thread: asked to stop by `stop`, says it has ended through `done`.
    private struct Running {
        let stop = StopSignal()
        let done = Flag()
    }

    func run() async throws {
        var queue: [String] = []
        for name in spool.leftInProcessing() {
            if let kept = spool.keepPartialLog(name) {
                logger.warning("resuming job \(name) left in processing/; its partial log is kept as \(kept)")
            } else {
                logger.warning("resuming job \(name) left in processing/")
            }
            queue.append(name)
        }
        var running: [String: Running] = [:]
        let shutdown = Flag()
        await withGracefulShutdownHandler {
            while !shutdown.isSet {
                running = running.filter { !$0.value.done.isSet }
                let settings = config.current
                while running.count < settings.workers, !shutdown.isSet {
                    if queue.isEmpty {
                        // Claim one at a time: a rename that fails means another
                        // process took the file.
                        for candidate in spool.ready(stableSeconds: settings.stableSeconds) {
                            if let claimed = spool.claim(candidate) {
                                if claimed != candidate {
                                    logger.info("job \(candidate) is \(claimed): another job had its name")
                                }
                                queue.append(claimed)
                                break
                            }
                        }
                    }
                    guard !queue.isEmpty else { break }
                    let name = queue.removeFirst()
                    let job = Running()
                    running[name] = job
                    let thread = Thread { [self] in
                        runJob(name, settings: settings, stop: job.stop)
                        job.done.set()
                    }
                    thread.name = "trackd job"
                    thread.start()
                }
                try? await Task.sleep(nanoseconds: UInt64(settings.pollSeconds * 1e9))
            }
        } onGracefulShutdown: {
            shutdown.set()
        }
        // Ask running jobs to stop after their current frame and wait for them.
        for job in running.values { job.stop.request(SIGTERM) }
        while running.values.contains(where: { !$0.done.isSet }) {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    /// One job, start to end, on its own thread.
    private func runJob(_ name: String, settings: ServiceConfig, stop: StopSignal) {
        let spec: JobSpec
        do {
            spec = try JobSpec.load(name, spool: spool, maxJobBytes: settings.maxJobBytes)
        } catch {
            logger.error("\(error)")
            state.jobEnded(name, .failed("\(error)"))
            spool.fail(name, error: "\(error)")
            return
        }
        let logPath = spool.logPath(name)
        logger.info("job \(name): tracking \(spec.video) -> \(logPath)")
        state.jobStarted(name, log: logPath)
        var failure: String?
        do {
            // Given back however the job ends, a video that cannot be opened included.
            let detector = try detectors.take(settings.detector)
            defer { detectors.giveBack(detector, settings: settings.detector, limit: settings.workers) }
            let outputs = try RunOutputs(logPath: logPath, motPath: nil)
            let source: VideoSource
            do {
                source = try VideoSource(path: spec.video, detector: detector, options: settings.detector.options,
                                         selection: spec.selection)
            } catch {
                outputs.discard()
                throw error
            }
            let result = try TrackRun(tracker: settings.tracker, trackdVersion: version).run(source, outputs: outputs, stop: stop) { [state] p in
                state.jobProgress(name, frames: p.frames, fps: p.framesPerSecond)
            }
            switch result.status {
            case .complete:
                logger.info("job \(name): \(result.frames) frames, \(result.tracks) tracks -> \(logPath)")
                spool.complete(name)
            case .interrupted:
                logger.notice("job \(name): stopped after \(result.frames) frames; left in processing/ to resume")
                state.jobEnded(name, .stopped)
                return
            case .failed:
                failure = result.error ?? "failed"
            }
        } catch {
            failure = "\(error)"
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

/// A flag set once by one thread and read by others: a shutdown begun, a thread ended.
final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
    func set() {
        lock.lock()
        value = true
        lock.unlock()
    }
}
