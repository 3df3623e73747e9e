import Analytics
import Detection
import Foundation
import Logging
import Metrics
import Pipeline
import Render
import ServiceFiles
import ServiceLifecycle
import TrackLog
import VideoIO

/// Tracks one live stream for as long as the daemon runs, on its own thread.
///
/// When the stream cannot be opened or drops, it is opened again after a wait that
/// starts at `retryInitialSeconds` and doubles up to `retryMaxSeconds` (reset once
/// frames flow again); tracking then continues in the same log and with the same
/// tracker. Logs rotate every `rotateSeconds` into
/// `logs/streams/<name>/<name>-<UTC start>.jsonl`. Frames that arrive while the
/// detector is busy replace older queued ones and are counted as dropped, so a slow
/// detector never makes memory grow.
final class StreamService: Service, Sendable {
    private let stream: ServiceConfig.StreamConfig
    private let spool: Spool
    private let config: Locked<ServiceConfig>
    private let detectors: DetectorPool
    private let state: ServiceState
    private let logger: Logger
    private let version: String
    private let events: TrackEvents
    private let snapshots: Snapshots
    /// The streams' counts for MQTT; nil without it.
    private let counts: MQTTCounts?
    /// For a fleet's stream: false once its lease may have passed to another node.
    private let leased: (@Sendable () -> Bool)?

    init(
        stream: ServiceConfig.StreamConfig, spool: Spool, config: Locked<ServiceConfig>, detectors: DetectorPool,
        state: ServiceState, logger: Logger, version: String, events: TrackEvents = TrackEvents(),
        snapshots: Snapshots = Snapshots(), counts: MQTTCounts? = nil, leased: (@Sendable () -> Bool)? = nil
    ) {
        self.counts = counts
        self.leased = leased
        self.events = events
        self.snapshots = snapshots
        self.stream = stream
        self.spool = spool
        self.config = config
        self.detectors = detectors
        self.state = state
        self.logger = logger
        self.version = version
    }

    func run() async throws {
        let stop = StopSignal(while: leased)
        let reading = Locked<(source: VideoSource?, stopped: Bool)>((nil, false))
        await withTaskCancellationOrGracefulShutdownHandler {
            await onOwnThread(named: "trackd stream \(stream.name)") { [self] in
                StreamRun(service: self, stop: stop, reading: reading).run()
            }
        } onCancelOrGracefulShutdown: {
            stop.request(SIGTERM)
            // The source being read is cancelled too, so that a stop does not wait for
            // its next frame.
            reading.withLock {
                $0.stopped = true
                return $0.source
            }?.cancel()
        }
        // A stream that gave up on its own (an option its input does not take) stays
        // down until the service stops: returning now would end the whole group.
        if stop.requested == nil { try? await gracefulShutdown() }
    }

    /// One run of the stream on its thread: connections, one tracker and log session
    /// across them, rotation, and the stream's line in the status.
    private final class StreamRun {
        let service: StreamService
        let stop: StopSignal
        let reading: Locked<(source: VideoSource?, stopped: Bool)>
        let settings: ServiceConfig
        let header: TrackRun
        let origin = monotonicSeconds()
        var session: TrackSession?
        var log: LogSink?
        var logPath = ""
        var rotateAt = 0.0
        var backoff: Double
        var dropped = 0
        var frames = 0
        var window = (time: monotonicSeconds(), frames: 0)
        /// Taken at the first connection and kept across reconnections.
        var model: (any Detector)?
        let metrics: PipelineMetrics
        let reconnects: Counter

        var stream: ServiceConfig.StreamConfig { service.stream }
        var name: String { service.stream.name }
        var logger: Logger { service.logger }
        var directory: String { service.spool.logs + "/streams/" + name }

        init(service: StreamService, stop: StopSignal, reading: Locked<(source: VideoSource?, stopped: Bool)>) {
            self.service = service
            self.stop = stop
            self.reading = reading
            settings = service.config.value
            header = TrackRun(tracker: settings.tracker, trackdVersion: service.version, analytics: service.stream.analytics)
            backoff = service.stream.retryInitialSeconds
            metrics = PipelineMetrics(source: service.stream.name)
            reconnects = Counter(label: "trackd_stream_reconnects_total", dimensions: [("stream", service.stream.name)])
        }

        func run() {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                logger.error("stream \(name): cannot create \(directory): \(error)")
            }
            connections: while stop.requested == nil {
                service.state.update(stream: name) { $0.state = .connecting }
                let source: VideoSource
                switch connect() {
                case .connected(let connected): source = connected
                case .failed(let message):
                    guard stop.requested == nil else { break connections }
                    retryLater(message)
                    continue connections
                case .givenUp:
                    break connections
                }
                let problem = follow(source)
                guard stop.requested == nil else { break }
                retryLater(problem ?? "the stream ended")
            }
            do {
                try session?.finish(RunEnd(status: .interrupted, droppedFrames: dropped))
            } catch {
                logger.error("stream \(name): \(error)")
            }
            service.state.update(stream: name) { $0.state = .stopped }
        }

        enum Connection {
            case connected(VideoSource)
            case failed(String)
            /// An option this input does not take fails every attempt alike.
            case givenUp
        }

        /// Opens the stream; the first time, also the log session.
        func connect() -> Connection {
            do {
                let detector = try model ?? service.detectors.take(settings.detector)
                model = detector
                let source = try VideoSource(
                    path: stream.url, detector: detector, options: settings.detector.options,
                    selection: FrameSelection(stride: stream.stride), formatOptions: stream.options,
                    queueCapacity: 2, live: true, keepsPictures: true, clockOrigin: origin, stop: stop, metrics: metrics,
                    onFrameTaken: { [state = service.state, name] in state.streamTookFrame(name) })
                if let session {
                    session.continueWithNewSource()
                } else {
                    try open(for: source)
                }
                return .connected(source)
            } catch let error as VideoError where error.kind == .invalidOption {
                logger.error("stream \(name): \(error); not retrying: fix the stream's options")
                service.state.update(stream: name) { $0.lastError = "\(error)" }
                return .givenUp
            } catch let error as AnalyticsConfig.ReadError {
                logger.error("stream \(name): analytics.\(error); not retrying: fix the stream's analytics")
                service.state.update(stream: name) { $0.lastError = "analytics.\(error)" }
                return .givenUp
            } catch {
                return .failed("\(error)")
            }
        }

        /// The session that tracks the stream for as long as the service runs: its
        /// tracker, analytics and outputs.
        func open(for source: VideoSource) throws {
            let analytics = try header.analytics(for: source)
            logPath = newLogPath()
            let log = LogSink(
                try TrackLogWriter(path: logPath),
                analytics: analytics.map { ($0.config.lines.map(\.name), $0.config.zones.map(\.name)) }, metrics: metrics)
            var sinks: [any FrameSink] = [
                log, MetricsSink(metrics),
                EventsSink(source: "stream:" + name, maxLostSeconds: settings.tracker.maxLostSeconds, events: service.events),
                SnapshotSink(service.snapshots, stream: name, analytics: analytics?.config)
            ]
            if let analytics {
                sinks.append(AnalyticsMetricsSink(source: name))
                if let counts = service.counts { sinks.append(MQTTCountsSink(counts, stream: name, config: analytics.config)) }
            }
            let opened = TrackSession(tracker: settings.tracker, source: source, analytics: analytics, sinks: sinks)
            try log.begin(header.header(for: source))
            session = opened
            self.log = log
            rotateAt = monotonicSeconds() + stream.rotateSeconds
            logger.info("stream \(name): logging to \(logPath)")
        }

        /// Tracks the source's frames until it ends, fails or a stop is requested;
        /// returns what ended it, nil for a plain end.
        func follow(_ source: VideoSource) -> String? {
            let cancelNow = reading.withLock {
                $0.source = source
                return $0.stopped
            }
            if cancelNow { source.cancel() }
            service.state.update(stream: name) {
                $0.state = .tracking
                $0.log = logPath
            }
            var problem: String?
            do {
                try session?.follow(source, stop: stop) { frame in
                    backoff = stream.retryInitialSeconds
                    frames += 1
                    report(droppedNow: source.droppedFrames, frame: frame)
                    try rotateIfDue(source)
                }
            } catch let error as TrackLogError {
                logger.error("stream \(name): \(error)")
                service.state.update(stream: name) { $0.lastError = "\(error)" }
                problem = "\(error)"
            } catch {
                problem = "\(error)"
            }
            dropped += source.droppedFrames
            source.cancel()
            reading.withLock { $0.source = nil }
            return problem
        }

        /// Moves the session to a new log once `rotateSeconds` have passed.
        func rotateIfDue(_ source: VideoSource) throws {
            guard monotonicSeconds() >= rotateAt, let log else { return }
            let next = newLogPath()
            try log.rotate(to: try TrackLogWriter(path: next), header: header.header(for: source))
            logPath = next
            rotateAt = monotonicSeconds() + stream.rotateSeconds
            logger.info("stream \(name): rotated to \(next)")
        }

        /// The stream's counts in the status; its rate over windows of 2 s.
        func report(droppedNow: Int, frame: TrackedFrame) {
            let now = monotonicSeconds()
            var fps: Double?
            if now - window.time >= 2 {
                fps = Double(frames - window.frames) / (now - window.time)
                window = (now, frames)
            }
            let total = dropped + droppedNow
            service.state.update(stream: name) { [frames, logPath] in
                $0.analytics = frame.totals
                $0.occupancy = frame.occupancy
                $0.frames = frames
                $0.droppedFrames = total
                $0.tracks = frame.frame.tracks.count
                $0.log = logPath
                if let fps { $0.framesPerSecond = (fps * 10).rounded() / 10 }
            }
        }

        /// Reports the failure and waits before the next attempt, the wait doubling
        /// each time up to `retryMaxSeconds`.
        func retryLater(_ message: String) {
            logger.warning("stream \(name): \(message); retrying in \(backoff) s")
            reconnects.increment()
            service.state.update(stream: name) {
                $0.state = .retrying
                $0.reconnects += 1
                $0.lastError = message
                $0.framesPerSecond = 0
            }
            stop.sleep(backoff)
            backoff = min(backoff * 2, stream.retryMaxSeconds)
        }

        func newLogPath() -> String {
            let stamp = basicUTCTimestamp()
            var path = directory + "/\(name)-\(stamp).jsonl"
            var k = 1
            while FileManager.default.fileExists(atPath: path) {
                k += 1
                path = directory + "/\(name)-\(stamp)-\(k).jsonl"
            }
            return path
        }
    }
}
