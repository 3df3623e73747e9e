import Foundation

/// An analytics event: something a track did, decided by trackd's counting rules
/// (the `Analytics` module). Written to the log as an `event` line after the frame
/// line of the frame that decided it; `frame` and `time` say when it happened, which
/// for a crossing or a zone's enter and exit is up to the rules' settle time earlier.
public struct LogEvent: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A counting line crossed (`direction`; `kmh` where a speed mapping exists).
        case line
        /// A zone entered.
        case enter
        /// A zone left (`seconds`: the visit's length); also when the track ends in it.
        case exit
        /// A track in a zone for `loiterSeconds` (`seconds`).
        case loiter
        /// A track's speed over its life (`kmh`, the median of its windowed speeds),
        /// when it ends.
        case speed
    }

    public enum Direction: String, Codable, Sendable, CaseIterable {
        case `in`, out
    }

    public var type = "event"
    public var frame: Int
    public var time: Double
    public var kind: Kind
    /// The line's or zone's name; `speed` for a speed event.
    public var name: String
    public var id: Int
    public var `class`: String
    /// The track's box where it happened, as in frame lines.
    public var box: [Double]
    public var direction: Direction?
    public var seconds: Double?
    public var kmh: Double?

    public init(
        frame: Int, time: Double, kind: Kind, name: String, id: Int, class name_: String, box: [Double],
        direction: Direction? = nil, seconds: Double? = nil, kmh: Double? = nil
    ) {
        self.frame = frame
        self.time = time
        self.kind = kind
        self.name = name
        self.id = id
        self.class = name_
        self.box = box
        self.direction = direction
        self.seconds = seconds
        self.kmh = kmh
    }

    /// The event as one line of JSON, keys in a fixed order (type first).
    public var jsonLine: String {
        var s = "{\"type\":\"event\",\"frame\":\(frame),\"time\":\(time),\"kind\":\"\(kind.rawValue)\",\"name\":"
        s += jsonString(name) + ",\"id\":\(id),\"class\":" + jsonString(self.class)
        s += ",\"box\":[" + box.map { "\($0)" }.joined(separator: ",") + "]"
        if let direction { s += ",\"direction\":\"\(direction.rawValue)\"" }
        if let seconds { s += ",\"seconds\":\(seconds)" }
        if let kmh { s += ",\"kmh\":\(kmh)" }
        return s + "}"
    }
}

/// What a run's events add up to, per line, zone and class: the end line's
/// `analytics` and what `trackd analyze --format json` prints.
public struct EventTotals: Codable, Sendable, Equatable {
    public struct Line: Codable, Sendable, Equatable {
        public var `in`: [String: Int] = [:]
        public var out: [String: Int] = [:]
        public init() {}
    }

    public struct Zone: Codable, Sendable, Equatable {
        public var entered: [String: Int] = [:]
        public var loitered: [String: Int] = [:]
        public init() {}
    }

    public var lines: [String: Line] = [:]
    public var zones: [String: Zone] = [:]
    /// Events of every kind.
    public var events = 0

    /// Totals at zero for these lines and zones, so that a line nobody crossed is
    /// listed too.
    public init(lines: [String] = [], zones: [String] = []) {
        for name in lines { self.lines[name] = Line() }
        for name in zones { self.zones[name] = Zone() }
    }

    public mutating func add(_ event: LogEvent) {
        events += 1
        switch event.kind {
        case .line:
            if event.direction == .in {
                lines[event.name, default: Line()].in[event.class, default: 0] += 1
            } else {
                lines[event.name, default: Line()].out[event.class, default: 0] += 1
            }
        case .enter: zones[event.name, default: Zone()].entered[event.class, default: 0] += 1
        case .loiter: zones[event.name, default: Zone()].loitered[event.class, default: 0] += 1
        case .exit, .speed: break
        }
    }
}
