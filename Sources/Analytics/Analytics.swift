import Foundation
import Geometry
import TrackLog

/// Counting lines, zones and speeds over tracked frames: frames in, events out. Pure
/// and deterministic (no I/O, no clock), so that `track`, `serve` and `analyze` give
/// the same events for the same frames.
///
/// The rules that keep counts right where naive counting goes wrong:
/// - Only confirmed tracks count (the log holds no others), so a single false
///   detection never does.
/// - A track is on a side of a line (or in or out of a zone) only once its point has
///   been clearly there: past `margin` box heights from the line or edge, and there
///   for `settleSeconds` without coming back. A point that jitters along a line, or
///   a walker who stops on it and sways, changes side at most once.
/// - A line counts a change of side only when the point's path crossed the segment
///   itself (not the line's extension), and counts again only after the track has
///   settled on the other side and really goes back.
/// - A track's first side is where it is first seen: a new id after an ID switch
///   mid-crossing does not count the crossing a second time.
public struct Analytics: Sendable {
    public let config: AnalyticsConfig
    /// Seconds unseen after which a track has ended (the tracker's `maxLostSeconds`).
    private let patience: Double
    private var tracks: [Int: TrackState] = [:]
    /// The events so far, added up.
    public private(set) var totals: EventTotals

    /// `config`: resolved (points in source pixels).
    public init(config: AnalyticsConfig, maxLostSeconds: Double) {
        precondition(!config.relative, "resolve relative points first")
        self.config = config
        patience = maxLostSeconds
        totals = EventTotals(lines: config.lines.map(\.name), zones: config.zones.map(\.name))
    }

    /// Tracks in each zone now, by class.
    public var occupancy: [String: [String: Int]] {
        var counts = [String: [String: Int]]()
        for zone in config.zones { counts[zone.name] = [:] }
        for track in tracks.values {
            for (k, visit) in track.zones.enumerated() where visit.side.settled == 1 {
                counts[config.zones[k].name, default: [:]][track.last.class, default: 0] += 1
            }
        }
        return counts
    }

    /// The events one tracked frame decides, in a fixed order.
    public mutating func update(_ frame: LogFrame) -> [LogEvent] {
        var events: [LogEvent] = []
        for t in frame.tracks where t.state == "confirmed" && t.box.count == 4 {
            var state = tracks[t.id] ?? TrackState(lines: config.lines.count, zones: config.zones.count)
            let points = Anchors(t.rect)
            let margin = config.margin * max(t.box[3], 1)
            // 1. Lines: a side change that crossed the segment is a crossing.
            for (k, line) in config.lines.enumerated() where line.classes?.contains(t.class) ?? true {
                let p = points[line.anchor]
                let previous = state.previous.map { $0[line.anchor] }
                let crossedNow = previous.map { segmentsIntersect($0, p, line.from, line.to) } ?? false
                let d = cross(line.to - line.from, p - line.from) / line.from.distance(to: line.to)
                let change = state.lines[k].update(
                    d, margin: margin, settle: config.settleSeconds, at: Moment(frame: frame.frame, time: frame.time, box: t.box),
                    crossedNow: crossedNow)
                if let change, change.crossed, change.from != 0 {
                    events.append(crossing(line, change, t, kmh: state.speed.latest))
                }
            }
            // 2. Zones: enter and exit with the same hysteresis; loitering once in long enough.
            for (k, zone) in config.zones.enumerated() where zone.classes?.contains(t.class) ?? true {
                let d = zone.polygon.signedDistance(points[zone.anchor])
                let now = Moment(frame: frame.frame, time: frame.time, box: t.box)
                if let change = state.zones[k].side.update(d, margin: margin, settle: config.settleSeconds, at: now) {
                    events.append(contentsOf: state.zones[k].change(change, zone: zone, t))
                }
                if let loiter = state.zones[k].loiter(zone: zone, t, at: now) { events.append(loiter) }
            }
            // 3. Speed: ground displacement over the window.
            if let speed = config.speed {
                state.speed.add(speed.homography.map(points[.bottom]), time: frame.time, window: speed.windowSeconds)
            }
            state.previous = points
            state.last = t
            state.lastSeen = Moment(frame: frame.frame, time: frame.time, box: t.box)
            tracks[t.id] = state
        }
        // 4. Tracks unseen longer than the tracker keeps them have ended.
        for id in tracks.keys.sorted() where frame.time - tracks[id]!.lastSeen.time > patience {
            events += end(id)
        }
        for e in events { totals.add(e) }
        return events
    }

    /// The source ended: every track still open ends.
    public mutating func finish() -> [LogEvent] {
        var events: [LogEvent] = []
        for id in tracks.keys.sorted() { events += end(id) }
        for e in events { totals.add(e) }
        return events
    }

    /// A track has ended: a crossing on its way to settling counts (the track never
    /// came back), a zone visit ends at its last sighting, and its speed is reported.
    private mutating func end(_ id: Int) -> [LogEvent] {
        guard var state = tracks.removeValue(forKey: id) else { return [] }
        var events: [LogEvent] = []
        let t = state.last
        for (k, line) in config.lines.enumerated() {
            if let change = state.lines[k].end(), change.crossed, change.from != 0 {
                events.append(crossing(line, change, t, kmh: state.speed.latest))
            }
        }
        for (k, zone) in config.zones.enumerated() where state.zones[k].side.settled == 1 {
            events.append(
                contentsOf: state.zones[k].change(Change(from: 1, to: -1, at: state.lastSeen, crossed: true), zone: zone, t))
        }
        if let kmh = state.speed.median {
            events.append(
                LogEvent(
                    frame: state.lastSeen.frame, time: state.lastSeen.time, kind: .speed, name: "speed", id: t.id,
                    class: t.class, box: state.lastSeen.box, kmh: rounded(kmh, 0.1)))
        }
        return events
    }

    private func crossing(_ line: AnalyticsConfig.CountingLine, _ change: Change, _ t: LogTrack, kmh: Double?) -> LogEvent {
        LogEvent(
            frame: change.at.frame, time: change.at.time, kind: .line, name: line.name, id: t.id, class: t.class,
            box: change.at.box, direction: change.to > 0 ? .in : .out, kmh: kmh.map { rounded($0, 0.1) })
    }
}

private func rounded(_ x: Double, _ step: Double) -> Double { (x / step).rounded() * step }

/// A frame at which something happened to a track, and its box there.
struct Moment: Sendable, Equatable {
    var frame: Int
    var time: Double
    var box: [Double]
}

/// A track's settled side changed: `from` (0: none yet) to `to`, having first gone
/// there `at`; `crossed`: the path went over a line's segment on the way.
struct Change: Sendable, Equatable {
    var from: Int
    var to: Int
    var at: Moment
    var crossed: Bool
}

/// The side of a boundary a track is settled on (-1 or +1: a line's left and right,
/// a zone's outside and inside; 0 before it is known), and the other side it may be
/// settling on: the hysteresis of every counting rule.
struct Settling: Sendable {
    var settled: Int
    /// When the point first went to the other side this time, and whether it has
    /// since been past the margin.
    private var candidate: (at: Moment, deep: Bool)?
    /// The step that took the point to the other side crossed the segment.
    private var crossed = false

    init(settled: Int) { self.settled = settled }

    /// The point is at signed distance `d` from the boundary now.
    mutating func update(_ d: Double, margin: Double, settle: Double, at now: Moment, crossedNow: Bool = true) -> Change? {
        let side = d > 0 ? 1 : d < 0 ? -1 : 0
        guard side != 0 else { return nil }
        // A track's first side is where it is first seen: a track that appears close
        // to a line and walks across counts (the margin is for changes of side).
        guard settled != 0 else {
            settled = side
            return nil
        }
        guard side != settled else {
            // Back on its side before settling on the other: nothing happened.
            candidate = nil
            crossed = false
            return nil
        }
        if candidate == nil {
            candidate = (now, false)
            crossed = crossedNow
        }
        if abs(d) >= margin { candidate!.deep = true }
        guard let c = candidate, c.deep, now.time - c.at.time >= settle - 1e-9 else { return nil }
        return settleThere(c.at)
    }

    /// The track ended: a point past the margin on the other side settles there.
    mutating func end() -> Change? {
        guard let c = candidate, c.deep else { return nil }
        return settleThere(c.at)
    }

    private mutating func settleThere(_ at: Moment) -> Change {
        let change = Change(from: settled, to: -settled, at: at, crossed: crossed)
        settled = -settled
        candidate = nil
        crossed = false
        return change
    }
}

/// One track's visits to one zone.
struct ZoneVisit: Sendable {
    var side = Settling(settled: -1)
    var entered: Moment?
    var loitered = false

    mutating func change(_ change: Change, zone: AnalyticsConfig.Zone, _ t: LogTrack) -> [LogEvent] {
        if change.to == 1 {
            entered = change.at
            loitered = false
            return [
                LogEvent(
                    frame: change.at.frame, time: change.at.time, kind: .enter, name: zone.name, id: t.id, class: t.class,
                    box: change.at.box)
            ]
        }
        side.settled = -1
        let since = entered?.time ?? change.at.time
        entered = nil
        return [
            LogEvent(
                frame: change.at.frame, time: change.at.time, kind: .exit, name: zone.name, id: t.id, class: t.class,
                box: change.at.box, seconds: rounded(change.at.time - since, 0.001))
        ]
    }

    mutating func loiter(zone: AnalyticsConfig.Zone, _ t: LogTrack, at now: Moment) -> LogEvent? {
        guard let limit = zone.loiterSeconds, side.settled == 1, !loitered, let entered, now.time - entered.time >= limit - 1e-9
        else { return nil }
        loitered = true
        return LogEvent(
            frame: now.frame, time: now.time, kind: .loiter, name: zone.name, id: t.id, class: t.class, box: now.box,
            seconds: rounded(now.time - entered.time, 0.001))
    }
}

/// A track's ground positions over the last window, and the speeds measured so far.
struct SpeedTrail: Sendable {
    private var samples: [(time: Double, point: Point)] = []
    private var speeds: [Double] = []
    /// km/h over the last window.
    private(set) var latest: Double?

    mutating func add(_ ground: Point, time: Double, window: Double) {
        guard ground.x.isFinite, ground.y.isFinite else { return }
        samples.append((time, ground))
        // Keep the newest sample at least a window old as the first.
        while samples.count > 2, samples[1].time <= time - window { samples.removeFirst() }
        guard let first = samples.first, time - first.time >= window - 1e-9 else { return }
        let kmh = first.point.distance(to: ground) / (time - first.time) * 3.6
        latest = kmh
        speeds.append(kmh)
    }

    /// The median of the speeds measured: one jittery window does not move it.
    var median: Double? {
        guard !speeds.isEmpty else { return nil }
        let sorted = speeds.sorted()
        let m = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2
    }
}

/// The two anchor points of a box.
struct Anchors: Sendable, Equatable {
    var bottom: Point
    var center: Point

    init(_ box: Geometry.Box) {
        bottom = Point(box.centerX, box.y2)
        center = Point(box.centerX, box.centerY)
    }

    subscript(_ anchor: AnalyticsConfig.Anchor) -> Point {
        switch anchor {
        case .bottom: bottom
        case .center: center
        }
    }
}

/// What analytics keeps per track.
struct TrackState: Sendable {
    var lines: [Settling]
    var zones: [ZoneVisit]
    var speed = SpeedTrail()
    var previous: Anchors?
    var last = LogTrack(id: 0, class: "", classId: 0, score: 0, box: [0, 0, 0, 0], state: "")
    var lastSeen = Moment(frame: 0, time: 0, box: [])

    init(lines: Int, zones: Int) {
        self.lines = Array(repeating: Settling(settled: 0), count: lines)
        self.zones = Array(repeating: ZoneVisit(), count: zones)
    }
}
