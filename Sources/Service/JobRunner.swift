import Analytics
import Detection
import Fleet
import Foundation
import Logging
import Pipeline
import ServiceFiles
import TrackLog
import VideoIO

/// Runs one claimed job of the spool's `processing/`, start to end, on the calling
/// thread: its log under `logs/`, its file moved to `done/` or `failed/` (or left in
/// `processing/` when a shutdown stopped it). The spool's workers and a fleet's run
/// jobs through it alike.
struct JobRunner: Sendable {
    let spool: Spool
    let detectors: DetectorPool
    let state: ServiceState
    let logger: Logger
    let version: String
    let running: RunningJobs
    let events: TrackEvents

    /// How a job ended: as a fleet's node records it (a spool's job ends the same ways).
    typealias Outcome = FleetJobOutcome

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
    private func stopped(_ name: String, frames: Int) -> Outcome {
        if running.isCancelled(name) {
            logger.notice("job \(name): cancelled after \(frames) frames")
            spool.fail(name, error: Self.cancelled)
            state.jobEnded(name, .cancelled)
            return .cancelled
        }
        logger.notice("job \(name): stopped after \(frames) frames; left in processing/ to resume")
        state.jobEnded(name, .stopped)
        return .stopped
    }

    /// One job, start to end. A fleet's job names a video under the fleet's shared
    /// storage rather than the spool.
    func run(_ name: String, settings: ServiceConfig, stop: StopSignal) -> Outcome {
        let spec: JobSpec
        do {
            let root = fleetJobID(name) != nil ? settings.fleet?.sharedRoot : nil
            spec = try JobSpec.load(name, spool: spool, maxJobBytes: settings.maxJobBytes, videoRoot: root)
        } catch {
            let error = redactingCredentials("\(error)")
            logger.error("\(error)")
            state.jobEnded(name, .failed(error))
            spool.fail(name, error: error)
            return .failed(error)
        }
        // A job submitted over a token-protected API (named api-… or fleet-…) may not
        // reach this host's loopback or link-local services, before or after redirects.
        let guarded = (name.hasPrefix(JobsAPI.prefix) || fleetJobID(name) != nil) && settings.http?.token != nil
        if spec.source.contains("://"), let why = settings.urlJobs.refusal(of: spec.source, guarded: guarded) {
            let error = "\(name): \(redactingCredentials(spec.source)): \(why)"
            logger.error("\(error)")
            state.jobEnded(name, .failed(error))
            spool.fail(name, error: error)
            return .failed(error)
        }
        let logPath = spool.logPath(name)
        logger.info("job \(name): tracking \(redactingCredentials(spec.source)) -> \(logPath)")
        state.jobStarted(name, log: logPath)
        let watch = ProgressWatch(limit: settings.stallSeconds, stop: stop)
        var failure: String?
        var frames = 0
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
            frames = result.frames
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
            return .failed(failure)
        }
        state.jobEnded(name, .done)
        return .done(frames: frames)
    }
}
