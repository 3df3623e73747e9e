import Foundation
import Geometry
import MOTFiles
import TrackLog
import Tracking
import VideoIO

/// How a run is going, for a progress line.
public struct RunProgress: Sendable {
    public var frames: Int
    public var expectedFrames: Int?
    public var elapsed: Double
    public var tracksAlive: Int
    public var framesPerSecond: Double { elapsed > 0 ? Double(frames) / elapsed : 0 }
}

/// How a run ended.
public struct RunResult: Sendable {
    public var status: LogEnd.Status
    public var frames: Int
    public var tracks: Int
    public var wallSeconds: Double
    /// Why it failed.
    public var error: String?
    /// The signal that interrupted it.
    public var signal: Int32?
    /// What decoding met: repaired frame times and frames that never decoded.
    public var decodeStats = DecodeStats()
}

/// Outputs of a run, opened before any work so that an unwritable path fails first.
public final class RunOutputs {
    let log: TrackLogWriter?
    let mot: MOTResultWriter?

    /// `refiner`: the MOT results are refined offline (`Refiner`); the log never is.
    public init(logPath: String?, motPath: String?, refiner: Refiner? = nil) throws {
        let log = try logPath.map(TrackLogWriter.init(path:))
        do {
            mot = try motPath.map { try MOTResultWriter(path: $0, refiner: refiner) }
        } catch {
            log?.abandon()
            throw error
        }
        self.log = log
    }

    /// Takes the outputs back: the run failed before it began. Neither appeared
    /// under its name (the log does with its header, the MOT results at the end).
    public func discard() {
        log?.abandon()
        mot?.discard()
    }
}

/// The tracker and its outputs for one run: frames in, log lines out. A live stream
/// keeps one session across reconnections and moves it to a new log file when it
/// rotates (`rotate`), so ids continue.
public final class TrackSession {
    private var tracker: Tracker
    private let classes: [String]
    private let picture: (width: Double, height: Double)
    private var log: TrackLogWriter?
    private let mot: MOTResultWriter?
    private var lastTime = -Double.infinity
    /// Added to the source's frame indices: a live stream's next source (after a
    /// reconnection) counts from 0 again, and the log's indices go on.
    private var indexOffset = 0
    private var nextIndex = 0
    private var logFrames = 0
    private var logIDs = Set<Int>()
    private var logStarted = Date()
    public private(set) var frames = 0
    private let metrics: PipelineMetrics
    private var logBytesCounted = 0
    /// Sees every frame as it is logged (the service's track events).
    private let onFrame: ((LogFrame) -> Void)?

    public init(
        tracker config: TrackerConfig, source: any DetectionSource, outputs: RunOutputs,
        metrics: PipelineMetrics = PipelineMetrics(source: "track"), onFrame: ((LogFrame) -> Void)? = nil
    ) {
        self.metrics = metrics
        self.onFrame = onFrame
        tracker = Tracker(config: config, classes: source.detector.classes)
        classes = source.detector.classes
        picture = (Double(source.video.width), Double(source.video.height))
        log = outputs.log
        mot = outputs.mot
    }

    public var liveTracks: Int { tracker.liveTrackCount }

    /// Writes the log's header.
    public func begin(_ header: LogHeader) throws {
        logStarted = Date()
        try log?.begin(header)
    }

    /// Continues with a new source (a live stream reconnected): its frames are
    /// numbered on from the last one logged.
    public func continueWithNewSource() {
        indexOffset = nextIndex
    }

    /// Tracks one frame and appends it to the outputs; returns it as logged.
    @discardableResult
    public func process(_ detected: DetectedFrame) throws -> LogFrame {
        let index = detected.index + indexOffset
        nextIndex = index + 1
        // The reader already repairs a file's times; this keeps them apart at the
        // log's microsecond precision too (a live stream's frames can arrive in a
        // burst), so that the tracker and every output see the same increasing times.
        let time = max((detected.time * 1e6).rounded() / 1e6, lastTime + 1e-6)
        lastTime = time
        let tracked = try tracker.update(detected.observations, time: time)
        let frame = LogFrame(frame: index, time: time, objects: tracked, classes: classes, picture: picture)
        logIDs.formUnion(frame.tracks.map(\.id))
        try log?.append(frame)
        try mot?.append(frame)
        onFrame?(frame)
        frames += 1
        logFrames += 1
        metrics.tracked.increment()
        metrics.activeTracks(tracker.liveTrackCount, of: self)
        let written = log?.bytesWritten ?? 0
        if written > logBytesCounted { metrics.logBytes.increment(by: written - logBytesCounted) }
        logBytesCounted = written
        return frame
    }

    /// Ends the current log and continues in `next`, which gets `header`.
    public func rotate(to next: TrackLogWriter, header: LogHeader) throws {
        try endLog(.complete, error: nil, droppedFrames: nil, decodeStats: DecodeStats())
        log = next
        logBytesCounted = 0
        logFrames = 0
        logIDs = []
        try begin(header)
    }

    /// Writes the end line and closes the outputs; returns the log's frame and track counts.
    @discardableResult
    public func finish(
        _ status: LogEnd.Status, error: String?, droppedFrames: Int? = nil,
        decodeStats: DecodeStats = DecodeStats()
    ) throws -> (frames: Int, tracks: Int) {
        let counts = (logFrames, logIDs.count)
        metrics.activeTracks(nil, of: self)
        try endLog(status, error: error, droppedFrames: droppedFrames, decodeStats: decodeStats)
        try mot?.finish()
        return counts
    }

    private func endLog(_ status: LogEnd.Status, error: String?, droppedFrames: Int?, decodeStats: DecodeStats) throws {
        var end = LogEnd(
            status: status, frames: logFrames, tracks: logIDs.count,
            wallSeconds: (Date().timeIntervalSince(logStarted) * 1000).rounded() / 1000, error: error)
        end.droppedFrames = droppedFrames
        end.repairedTimes = decodeStats.repairedTimes > 0 ? decodeStats.repairedTimes : nil
        end.missingFrames = decodeStats.missingFrames > 0 ? decodeStats.missingFrames : nil
        try log?.finish(end)
        log = nil
    }
}

/// Detections in, tracks out: the tracker over a detection source, every processed
/// frame appended to the track log (and MOTChallenge results), until the source
/// ends, fails, or a stop is requested (then after the current frame).
public struct TrackRun {
    public var tracker: TrackerConfig
    public var trackdVersion: String

    public init(tracker: TrackerConfig, trackdVersion: String) {
        self.tracker = tracker
        self.trackdVersion = trackdVersion
    }

    /// The header of a log of `source` tracked with this run's settings.
    public func header(for source: any DetectionSource) -> LogHeader {
        LogHeader(
            trackd: trackdVersion, created: ISO8601DateFormatter().string(from: Date()), source: source.source,
            video: source.video, detector: source.detector, tracker: tracker)
    }

    public func run(
        _ source: any DetectionSource, outputs: RunOutputs, stop: StopSignal,
        metrics: PipelineMetrics = PipelineMetrics(source: "track"), onFrame: ((LogFrame) -> Void)? = nil,
        progress: ((RunProgress) -> Void)? = nil
    ) throws -> RunResult {
        let started = Date()
        let session = TrackSession(tracker: tracker, source: source, outputs: outputs, metrics: metrics, onFrame: onFrame)
        try session.begin(header(for: source))
        var failure: (any Error)?
        do {
            while stop.requested == nil, let detected = try source.next() {
                try session.process(detected)
                progress?(
                    RunProgress(
                        frames: session.frames, expectedFrames: source.expectedFrames,
                        elapsed: Date().timeIntervalSince(started), tracksAlive: session.liveTracks))
            }
        } catch {
            // A stop interrupts a read waiting on a silent source: that error is the
            // stop taking effect, not a failure (a log that cannot be written still is).
            if stop.requested == nil || error is TrackLogError || error is TextOutput.WriteError { failure = error }
        }
        source.cancel()

        let status: LogEnd.Status = failure != nil ? .failed : stop.requested != nil ? .interrupted : .complete
        let message = failure.map { String(describing: $0) }
        // A failed write is not retried for the end line: the log stays valid up to
        // its last complete line either way.
        if let failure, failure is TrackLogError || failure is TextOutput.WriteError { throw failure }
        let decodeStats = source.decodeStats
        let counts = try session.finish(status, error: message, decodeStats: decodeStats)
        return RunResult(
            status: status, frames: counts.frames, tracks: counts.tracks,
            wallSeconds: Date().timeIntervalSince(started), error: message, signal: stop.requested,
            decodeStats: decodeStats)
    }
}
