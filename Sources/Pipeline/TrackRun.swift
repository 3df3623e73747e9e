import Analytics
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
    /// With analytics: the events, added up.
    public var totals: EventTotals?
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

/// The tracker, the analytics and the outputs for one run: detected frames in, each
/// tracked frame handed to every sink. A live stream keeps one session across
/// reconnections, so that ids and counts go on.
public final class TrackSession {
    private var tracker: Tracker
    private var analytics: Analytics?
    private let classes: [String]
    private let picture: (width: Double, height: Double)
    private let sinks: [any FrameSink]
    private var lastTime = -Double.infinity
    /// Added to the source's frame indices: a live stream's next source (after a
    /// reconnection) counts from 0 again, and the log's indices go on.
    private var indexOffset = 0
    private var nextIndex = 0
    public private(set) var frames = 0

    public init(tracker config: TrackerConfig, source: any DetectionSource, analytics: Analytics?, sinks: [any FrameSink]) {
        tracker = Tracker(config: config.usable(with: source), classes: source.detector.classes)
        classes = source.detector.classes
        picture = (Double(source.video.width), Double(source.video.height))
        self.analytics = analytics
        self.sinks = sinks
    }

    public var liveTracks: Int { tracker.liveTrackCount }

    /// The analytics' events so far, added up; nil without analytics.
    public var totals: EventTotals? { analytics?.totals }

    /// Continues with a new source (a live stream reconnected): its frames are
    /// numbered on from the last one logged.
    public func continueWithNewSource() {
        indexOffset = nextIndex
    }

    /// The one frame loop: tracks the source's frames until it ends, fails or a stop is
    /// requested (then after the current frame), calling `each` after every frame.
    public func follow(_ source: any DetectionSource, stop: StopSignal, each: (TrackedFrame) throws -> Void = { _ in }) throws {
        while stop.requested == nil, let detected = try source.next() {
            try each(try process(detected))
        }
    }

    /// Tracks one frame and hands it to every sink.
    private func process(_ detected: DetectedFrame) throws -> TrackedFrame {
        let index = detected.index + indexOffset
        nextIndex = index + 1
        // The reader already repairs a file's times; this keeps them apart at the
        // log's microsecond precision too (a live stream's frames can arrive in a
        // burst), so that the tracker and every output see the same increasing times.
        let time = max((detected.time * 1e6).rounded() / 1e6, lastTime + 1e-6)
        lastTime = time
        // The visual predictors look at the decoded picture's luma, where it has one.
        let objects =
            try detected.picture.flatMap { decoded in
                try decoded.withLuma { pixels, stride in
                    let luma = LumaPlane(width: decoded.width, height: decoded.height, stride: stride, pixels: pixels)
                    return try tracker.update(detected.observations, time: time, luma: luma)
                }
            } ?? tracker.update(detected.observations, time: time)
        let logged = LogFrame(frame: index, time: time, objects: objects, classes: classes, picture: picture)
        let events = analytics?.update(logged) ?? []
        let frame = TrackedFrame(
            frame: logged, events: events, picture: detected.picture, liveTracks: tracker.liveTrackCount,
            totals: analytics?.totals, occupancy: analytics?.occupancy)
        for sink in sinks { try sink.take(frame) }
        frames += 1
        return frame
    }

    /// The source has ended: what tracks still open did goes out, and every sink
    /// finishes (all of them, even after one fails; the first failure is thrown).
    public func finish(_ end: RunEnd) throws {
        var end = end
        end.events = analytics?.finish() ?? []
        var failure: (any Error)?
        for sink in sinks {
            do {
                try sink.finish(end)
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }
}

extension TrackerConfig {
    /// The settings as they run on `source`: visual predictors need its pictures (a
    /// det.txt replay has none and keeps the motion-only predictor), so that the
    /// log's header says what ran.
    func usable(with source: any DetectionSource) -> TrackerConfig {
        var config = self
        config.visual = visual && source.hasPictures
        return config
    }
}

/// Detections in, tracks out: the tracker over a detection source, every processed
/// frame appended to the track log (and MOTChallenge results, and any other sink),
/// until the source ends, fails, or a stop is requested (then after the current frame).
public struct TrackRun {
    public var tracker: TrackerConfig
    public var trackdVersion: String
    /// Lines, zones and speed to count (points not yet placed on the picture).
    public var analytics: AnalyticsConfig?

    public init(tracker: TrackerConfig, trackdVersion: String, analytics: AnalyticsConfig? = nil) {
        self.tracker = tracker
        self.trackdVersion = trackdVersion
        self.analytics = analytics
    }

    /// The header of a log of `source` tracked with this run's settings.
    public func header(for source: any DetectionSource) -> LogHeader {
        LogHeader(
            trackd: trackdVersion, created: Date().ISO8601Format(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            source: source.source,
            video: source.video, detector: source.detector, tracker: tracker.usable(with: source))
    }

    /// The analytics for `source`: points placed on its picture, classes checked
    /// against its detector's. Throws `AnalyticsConfig.ReadError`.
    public func analytics(for source: any DetectionSource) throws -> Analytics? {
        try analytics.map { config in
            Analytics(
                config: try config.resolved(
                    width: source.video.width, height: source.video.height, classes: source.detector.classes),
                maxLostSeconds: tracker.maxLostSeconds)
        }
    }

    /// `sinks`: outputs beside the log and the MOTChallenge results (the service's events).
    public func run(
        _ source: any DetectionSource, outputs: RunOutputs, stop: StopSignal,
        metrics: PipelineMetrics = PipelineMetrics(source: "track"), sinks: [any FrameSink] = [],
        progress: ((RunProgress) -> Void)? = nil
    ) throws -> RunResult {
        let started = Date()
        let analytics: Analytics?
        do {
            analytics = try self.analytics(for: source)
        } catch {
            source.cancel()
            outputs.discard()
            throw error
        }
        let names = analytics.map { a in (lines: a.config.lines.map(\.name), zones: a.config.zones.map(\.name)) }
        let log = outputs.log.map { LogSink($0, analytics: names, metrics: metrics) }
        var all: [any FrameSink] = []
        if let log { all.append(log) }
        if let mot = outputs.mot { all.append(MOTSink(mot)) }
        all += [MetricsSink(metrics)] + sinks
        let session = TrackSession(tracker: tracker, source: source, analytics: analytics, sinks: all)
        try log?.begin(header(for: source))
        var failure: (any Error)?
        // Distinct ids for the summary, counted here: a stream's session lives for as
        // long as the daemon, so it keeps no set that only grows.
        var ids = Set<Int>()
        do {
            try session.follow(source, stop: stop) { frame in
                ids.formUnion(frame.frame.tracks.map(\.id))
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
        try session.finish(RunEnd(status: status, error: message, decodeStats: decodeStats))
        return RunResult(
            status: status, frames: session.frames, tracks: ids.count,
            wallSeconds: Date().timeIntervalSince(started), error: message, signal: stop.requested,
            decodeStats: decodeStats, totals: session.totals)
    }
}
