import Foundation
import TrackLog
import VideoIO

/// One tracked frame as every output of a run sees it.
public struct TrackedFrame: Sendable {
    /// The frame as logged.
    public var frame: LogFrame
    /// The analytics events this frame decided (none without analytics).
    public var events: [LogEvent]
    /// The decoded picture, when the source keeps pictures (live streams, for snapshots).
    public var picture: Picture?
    /// Tracks the tracker holds now, lost ones included.
    public var liveTracks: Int
    /// With analytics: the events so far, added up.
    public var totals: EventTotals?
    /// With analytics: tracks in each zone now, by class.
    public var occupancy: [String: [String: Int]]?
}

/// How a run's source ended, as its outputs are told.
public struct RunEnd: Sendable {
    public var status: LogEnd.Status
    public var error: String?
    /// The last analytics events: what tracks still open when the source ended did.
    public var events: [LogEvent] = []
    public var droppedFrames: Int?
    public var decodeStats = DecodeStats()

    public init(status: LogEnd.Status, error: String? = nil, droppedFrames: Int? = nil, decodeStats: DecodeStats = DecodeStats())
    {
        self.status = status
        self.error = error
        self.droppedFrames = droppedFrames
        self.decodeStats = decodeStats
    }
}

/// An output of a tracking run: the track log, MOTChallenge results, metrics, the
/// service's events and snapshots. Each gets every tracked frame in order, then the end.
public protocol FrameSink: AnyObject {
    func take(_ frame: TrackedFrame) throws
    func finish(_ end: RunEnd) throws
}

/// The track log: frame lines, event lines after the frame that decided them, an end
/// line with the events added up. A live stream moves it to a new file (`rotate`).
public final class LogSink: FrameSink {
    private var log: TrackLogWriter?
    private let lines: [String]?
    private let zones: [String]
    private var frames = 0
    private var ids = Set<Int>()
    private var totals: EventTotals?
    private var started = Date()
    private let metrics: PipelineMetrics?
    private var bytesCounted = 0

    /// `analytics`: the names of the lines and zones counted (their totals go in the
    /// end line), nil without analytics.
    public init(_ log: TrackLogWriter, analytics: (lines: [String], zones: [String])?, metrics: PipelineMetrics? = nil) {
        self.log = log
        lines = analytics?.lines
        zones = analytics?.zones ?? []
        self.metrics = metrics
    }

    /// Frames and distinct tracks in the current log.
    public var counts: (frames: Int, tracks: Int) { (frames, ids.count) }

    /// Writes the header: the log appears under its name.
    public func begin(_ header: LogHeader) throws {
        started = Date()
        frames = 0
        ids = []
        totals = lines.map { EventTotals(lines: $0, zones: zones) }
        bytesCounted = 0
        try log?.begin(header)
    }

    public func take(_ frame: TrackedFrame) throws {
        try log?.append(frame.frame)
        try append(frame.events)
        frames += 1
        ids.formUnion(frame.frame.tracks.map(\.id))
        let written = log?.bytesWritten ?? 0
        if written > bytesCounted { metrics?.logBytes.increment(by: written - bytesCounted) }
        bytesCounted = written
    }

    private func append(_ events: [LogEvent]) throws {
        for event in events {
            try log?.append(event)
            totals?.add(event)
        }
    }

    /// Ends the current log as complete and goes on in `next`, which gets `header`.
    public func rotate(to next: TrackLogWriter, header: LogHeader) throws {
        try finish(RunEnd(status: .complete))
        log = next
        try begin(header)
    }

    public func finish(_ end: RunEnd) throws {
        try append(end.events)
        var line = LogEnd(
            status: end.status, frames: frames, tracks: ids.count,
            wallSeconds: (Date().timeIntervalSince(started) * 1000).rounded() / 1000, error: end.error)
        line.droppedFrames = end.droppedFrames
        line.repairedTimes = end.decodeStats.repairedTimes > 0 ? end.decodeStats.repairedTimes : nil
        line.missingFrames = end.decodeStats.missingFrames > 0 ? end.decodeStats.missingFrames : nil
        line.analytics = totals
        try log?.finish(line)
        log = nil
    }
}

/// MOTChallenge results, put in place at the end.
final class MOTSink: FrameSink {
    private let writer: MOTResultWriter

    init(_ writer: MOTResultWriter) { self.writer = writer }

    func take(_ frame: TrackedFrame) throws { try writer.append(frame.frame) }
    func finish(_ end: RunEnd) throws { try writer.finish() }
}

/// The pipeline's counts of tracked frames and live tracks.
public final class MetricsSink: FrameSink {
    private let metrics: PipelineMetrics

    public init(_ metrics: PipelineMetrics) { self.metrics = metrics }

    public func take(_ frame: TrackedFrame) throws {
        metrics.tracked.increment()
        metrics.activeTracks(frame.liveTracks, of: self)
    }

    public func finish(_ end: RunEnd) throws { metrics.activeTracks(nil, of: self) }
}
