import Detection
import Foundation
import VideoIO
import Logging
import Pipeline
import ServiceLifecycle
import TrackLog

/// Tracks one live stream for as long as the daemon runs, on its own thread.
///
/// When the stream cannot be opened or drops, it is opened again after a wait that
/// starts at `retryInitialSeconds` and doubles up to `retryMaxSeconds` (reset once
/// frames flow again); tracking then continues in the same log and with the same
/// tracker. Logs rotate every `rotateSeconds` into
/// `logs/streams/<name>/<name>-<UTC start>.jsonl`. Frames that arrive while the
/// detector is busy replace older queued ones and are counted as dropped, so a slow
/// detector never makes memory grow.
final class StreamService: Service, @unchecked Sendable {
    private let stream: ServiceConfig.StreamConfig
    private let spool: Spool
    private let config: ConfigBox
    private let detectors: DetectorPool
    private let state: ServiceState
    private let logger: Logger
    private let version: String

    init(stream: ServiceConfig.StreamConfig, spool: Spool, config: ConfigBox, detectors: DetectorPool, state: ServiceState,
         logger: Logger, version: String) {
        self.stream = stream
        self.spool = spool
        self.config = config
        self.detectors = detectors
        self.state = state
        self.logger = logger
        self.version = version
    }

    /// The source being read, so that a stop does not wait for its next frame.
    private final class Current: @unchecked Sendable {
        private let lock = NSLock()
        private var source: VideoSource?
        private var stopped = false
        func set(_ s: VideoSource?) {
            lock.lock()
            source = s
            let cancel = stopped
            lock.unlock()
            if cancel { s?.cancel() }
        }
        func cancel() {
            lock.lock()
            stopped = true
            let s = source
            lock.unlock()
            s?.cancel()
        }
    }

    func run() async throws {
        let stop = StopSignal()
        let finished = Flag()
        let current = Current()
        let thread = Thread { [self] in
            track(stop: stop, current: current)
            finished.set()
        }
        thread.name = "trackd stream \(stream.name)"
        thread.start()
        await withGracefulShutdownHandler {
            while !finished.isSet { try? await Task.sleep(nanoseconds: 50_000_000) }
        } onGracefulShutdown: {
            stop.request(SIGTERM)
            current.cancel()
        }
        while !finished.isSet { try? await Task.sleep(nanoseconds: 20_000_000) }
        // A stream that gave up on its own (an option its input does not take) stays
        // down until the service stops: returning now would end the whole group.
        try? await gracefulShutdown()
    }

    private var directory: String { spool.logs + "/streams/" + stream.name }

    private func newLogPath() -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        var path = directory + "/\(stream.name)-\(formatter.string(from: Date())).jsonl"
        var k = 1
        while FileManager.default.fileExists(atPath: path) {
            k += 1
            path = directory + "/\(stream.name)-\(formatter.string(from: Date()))-\(k).jsonl"
        }
        return path
    }

    private func track(stop: StopSignal, current: Current) {
        let settings = config.current
        let options = settings.detector.options
        let tracker = settings.tracker
        let run = TrackRun(tracker: tracker, trackdVersion: version)
        let origin = monotonicSeconds()
        var session: TrackSession?
        var logPath = ""
        var rotateAt = 0.0
        var backoff = stream.retryInitialSeconds
        var dropped = 0
        var frames = 0
        var windowStart = (time: monotonicSeconds(), frames: 0)
        // Taken once, at the first connection, and kept across reconnections.
        var model: (any Detector)?
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            logger.error("stream \(stream.name): cannot create \(directory): \(error)")
        }

        while stop.requested == nil {
            state.update(stream: stream.name) { $0.state = "connecting" }
            let source: VideoSource
            do {
                let detector = try model ?? detectors.take(settings.detector)
                model = detector
                source = try VideoSource(path: stream.url, detector: detector, options: options,
                                         selection: FrameSelection(stride: stream.stride), formatOptions: stream.options,
                                         queueCapacity: 2, live: true, clockOrigin: origin, stop: stop)
                if let session {
                    session.continueWithNewSource()
                } else {
                    logPath = newLogPath()
                    let opened = TrackSession(tracker: tracker, source: source, outputs: try RunOutputs(logPath: logPath, motPath: nil))
                    try opened.begin(run.header(for: source))
                    session = opened
                    rotateAt = monotonicSeconds() + stream.rotateSeconds
                    logger.info("stream \(stream.name): logging to \(logPath)")
                }
            } catch {
                guard stop.requested == nil else { break }
                let message = "\(error)"
                if let video = error as? VideoError, video.kind == .invalidOption {
                    // An option this input does not take fails every attempt alike.
                    logger.error("stream \(stream.name): \(message); not retrying: fix the stream's options")
                    state.update(stream: stream.name) { $0.lastError = message }
                    break
                }
                logger.warning("stream \(stream.name): \(message); retrying in \(backoff) s")
                state.update(stream: stream.name) {
                    $0.state = "retrying"
                    $0.reconnects += 1
                    $0.lastError = message
                }
                sleep(backoff, unless: stop)
                backoff = min(backoff * 2, stream.retryMaxSeconds)
                continue
            }
            current.set(source)
            state.update(stream: stream.name) {
                $0.state = "tracking"
                $0.log = logPath
            }
            var sourceError: String?
            do {
                while stop.requested == nil, let frame = try source.nextFrame() {
                    // From here until the frame is logged, any wait is trackd's own.
                    state.streamTookFrame(stream.name)
                    let detected = try source.detect(frame)
                    backoff = stream.retryInitialSeconds
                    if monotonicSeconds() >= rotateAt, let current = session {
                        let next = newLogPath()
                        try current.rotate(to: try TrackLogWriter(path: next), header: run.header(for: source))
                        logPath = next
                        rotateAt = monotonicSeconds() + stream.rotateSeconds
                        logger.info("stream \(stream.name): rotated to \(next)")
                    }
                    try session?.process(detected)
                    frames += 1
                    let now = monotonicSeconds()
                    var fps: Double?
                    if now - windowStart.time >= 2 {
                        fps = Double(frames - windowStart.frames) / (now - windowStart.time)
                        windowStart = (now, frames)
                    }
                    let total = dropped + source.droppedFrames
                    state.update(stream: stream.name) {
                        $0.frames = frames
                        $0.droppedFrames = total
                        $0.log = logPath
                        if let fps { $0.framesPerSecond = (fps * 10).rounded() / 10 }
                    }
                }
            } catch let error as TrackLogError {
                logger.error("stream \(stream.name): \(error)")
                state.update(stream: stream.name) { $0.lastError = "\(error)" }
                sourceError = "\(error)"
            } catch {
                sourceError = "\(error)"
            }
            dropped += source.droppedFrames
            source.cancel()
            current.set(nil)
            guard stop.requested == nil else { break }
            let message = sourceError ?? "the stream ended"
            logger.warning("stream \(stream.name): \(message); reconnecting in \(backoff) s")
            state.update(stream: stream.name) {
                $0.state = "retrying"
                $0.reconnects += 1
                $0.lastError = message
                $0.framesPerSecond = 0
            }
            sleep(backoff, unless: stop)
            backoff = min(backoff * 2, stream.retryMaxSeconds)
        }
        do {
            try session?.finish(.interrupted, error: nil, droppedFrames: dropped)
        } catch {
            logger.error("stream \(stream.name): \(error)")
        }
        state.update(stream: stream.name) { $0.state = "stopped" }
    }

    /// Waits `seconds`, or less if a stop is requested meanwhile.
    private func sleep(_ seconds: Double, unless stop: StopSignal) {
        let end = monotonicSeconds() + seconds
        while stop.requested == nil, monotonicSeconds() < end { Thread.sleep(forTimeInterval: 0.05) }
    }
}
