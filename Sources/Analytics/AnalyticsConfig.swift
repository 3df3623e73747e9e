import Foundation

/// Counting lines, zones and a speed mapping over one source's picture, as
/// `track --analytics`, `analyze`, a spool job's `analytics` and a stream's
/// `analytics` give them (README, "Analytics").
public struct AnalyticsConfig: Sendable, Equatable {
    /// Which point of a track's box is its position.
    public enum Anchor: String, Sendable, Equatable {
        /// The middle of the box's bottom edge: where a person or a car meets the ground.
        case bottom
        case center
    }

    public struct CountingLine: Sendable, Equatable {
        public var name: String
        public var from: Point
        public var to: Point
        /// Nil: every class.
        public var classes: Set<String>?
        public var anchor: Anchor
    }

    public struct Zone: Sendable, Equatable {
        public var name: String
        var polygon: Polygon
        public var corners: [Point] { polygon.corners }
        public var classes: Set<String>?
        public var anchor: Anchor
        public var loiterSeconds: Double?
    }

    public struct Speed: Sendable, Equatable {
        public var image: [Point]
        public var ground: [Point]
        /// Seconds of track over which one speed is measured (at least 0.5).
        public var windowSeconds: Double
        var homography: Homography
    }

    public var lines: [CountingLine] = []
    public var zones: [Zone] = []
    public var speed: Speed?
    /// Points are fractions of the picture's width and height (until `resolved`).
    public var relative = false
    /// How far past a line or a zone's edge a track's point must go before it counts
    /// as on the other side, in heights of its box.
    public var margin = AnalyticsConfig.defaultMargin
    /// How long a track's point must stay on the other side before it counts.
    public var settleSeconds = AnalyticsConfig.defaultSettleSeconds

    public static let defaultMargin = 0.05
    public static let defaultSettleSeconds = 0.3

    public init() {}

    /// What is wrong with a configuration, and at which key (`zones[1].polygon`).
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public init(key: String, reason: String) {
            self.key = key
            self.reason = reason
        }
        public var description: String { key.isEmpty ? reason : "\(key): \(reason)" }
    }

    /// A configuration from a JSON object (parsed with `JSONSerialization`).
    public init(object: Any) throws(ReadError) {
        let top = try Reader(object, key: "")
        try top.only(["lines", "zones", "speed", "relative", "margin", "settleSeconds"])
        relative = try top.optional("relative", Bool.self) ?? false
        margin = try top.number("margin", default: Self.defaultMargin, minimum: 0)
        settleSeconds = try top.number("settleSeconds", default: Self.defaultSettleSeconds, minimum: 0)
        var names = Set<String>()
        func newName(_ item: Reader) throws(ReadError) -> String {
            let name = try item.required("name", String.self)
            guard !name.isEmpty else { throw ReadError(key: item.key + ".name", reason: "must not be empty") }
            guard names.insert(name).inserted else {
                throw ReadError(key: item.key + ".name", reason: "'\(name)' names another line or zone already")
            }
            return name
        }
        for line in try top.list("lines") {
            try line.only(["name", "from", "to", "classes", "anchor"])
            let name = try newName(line)
            let from = try line.point("from")
            let to = try line.point("to")
            guard from != to else { throw ReadError(key: line.key + ".to", reason: "the line has no length (to = from)") }
            lines.append(
                CountingLine(
                    name: name, from: from, to: to, classes: try line.classes(), anchor: try line.anchor()))
        }
        for zone in try top.list("zones") {
            try zone.only(["name", "polygon", "classes", "anchor", "loiterSeconds"])
            let name = try newName(zone)
            let corners = try zone.points("polygon")
            let key = zone.key + ".polygon"
            guard corners.count >= 3 else { throw ReadError(key: key, reason: "a polygon needs at least 3 corners") }
            guard Set(corners).count == corners.count else { throw ReadError(key: key, reason: "a corner is given twice") }
            let polygon = Polygon(corners: corners)
            guard corners.contains(where: { cross(corners[1] - corners[0], $0 - corners[0]) != 0 }) else {
                throw ReadError(key: key, reason: "the polygon has no area (its corners are in one line)")
            }
            if let (i, j) = polygon.selfIntersection {
                throw ReadError(key: key, reason: "the polygon crosses itself (edges \(i) and \(j))")
            }
            let loiter = try zone.optionalNumber("loiterSeconds", minimum: 0)
            zones.append(
                Zone(
                    name: name, polygon: polygon, classes: try zone.classes(), anchor: try zone.anchor(),
                    loiterSeconds: loiter))
        }
        if top.has("speed") {
            let speed = try top.child("speed")
            try speed.only(["image", "ground", "windowSeconds"])
            let image = try speed.points("image")
            let ground = try speed.points("ground")
            guard image.count >= 4 else {
                throw ReadError(key: speed.key + ".image", reason: "needs at least 4 points (it has \(image.count))")
            }
            guard ground.count == image.count else {
                throw ReadError(
                    key: speed.key + ".ground", reason: "needs one point per image point (\(image.count), it has \(ground.count))"
                )
            }
            for (points, key) in [(image, "image"), (ground, "ground")] {
                if let k = Self.threeInALine(points) {
                    throw ReadError(
                        key: speed.key + "." + key, reason: "points \(k.0), \(k.1) and \(k.2) are in one line: no homography")
                }
            }
            guard let homography = Homography(from: image, to: ground) else {
                throw ReadError(key: speed.key, reason: "the points give a degenerate homography")
            }
            let window = try speed.number("windowSeconds", default: 1, minimum: 0.5)
            self.speed = Speed(image: image, ground: ground, windowSeconds: window, homography: homography)
        }
        if relative {
            let all = lines.flatMap { [$0.from, $0.to] } + zones.flatMap(\.corners) + (speed?.image ?? [])
            if all.contains(where: { !(0...1).contains($0.x) || !(0...1).contains($0.y) }) {
                throw ReadError(key: "relative", reason: "with relative points, every coordinate must be within 0…1")
            }
        }
    }

    /// A configuration from JSON text.
    public init(json: Data) throws(ReadError) {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw ReadError(key: "", reason: "not valid JSON")
        }
        try self.init(object: object)
    }

    /// Three of `points` in one line (within a small tolerance), by index; only four
    /// points are checked this way (more are fitted by least squares).
    private static func threeInALine(_ points: [Point]) -> (Int, Int, Int)? {
        guard points.count == 4 else { return nil }
        let scale = points.flatMap { [abs($0.x), abs($0.y)] }.max() ?? 1
        for i in 0..<4 {
            for j in (i + 1)..<4 {
                for k in (j + 1)..<4
                where abs(cross(points[j] - points[i], points[k] - points[i])) <= 1e-9 * max(1, scale * scale) {
                    return (i, j, k)
                }
            }
        }
        return nil
    }

    /// Points in source pixels of a `width` × `height` picture (relative points
    /// scaled), and every class named checked against the detector's `classes`
    /// (empty: not known, nothing checked).
    public func resolved(width: Int, height: Int, classes: [String]) throws(ReadError) -> AnalyticsConfig {
        var c = self
        for (k, line) in lines.enumerated() {
            try Self.check(line.classes, against: classes, key: "lines[\(k)].classes")
        }
        for (k, zone) in zones.enumerated() {
            try Self.check(zone.classes, against: classes, key: "zones[\(k)].classes")
        }
        guard relative else { return c }
        guard width > 0, height > 0 else {
            throw ReadError(
                key: "relative", reason: "the picture's size is not known (give --seqinfo), so relative points cannot be placed")
        }
        let scale = { (p: Point) in Point(p.x * Double(width), p.y * Double(height)) }
        c.relative = false
        for k in c.lines.indices {
            c.lines[k].from = scale(c.lines[k].from)
            c.lines[k].to = scale(c.lines[k].to)
        }
        for k in c.zones.indices { c.zones[k].polygon = Polygon(corners: c.zones[k].corners.map(scale)) }
        if let speed {
            let image = speed.image.map(scale)
            guard let homography = Homography(from: image, to: speed.ground) else {
                throw ReadError(key: "speed", reason: "the points give a degenerate homography")
            }
            c.speed?.image = image
            c.speed?.homography = homography
        }
        return c
    }

    private static func check(_ named: Set<String>?, against classes: [String], key: String) throws(ReadError) {
        guard let named, !classes.isEmpty else { return }
        if let unknown = named.sorted().first(where: { !classes.contains($0) }) {
            throw ReadError(key: key, reason: "unknown class '\(unknown)' (the detector's classes do not include it)")
        }
    }
}

/// One JSON object of the configuration, with the key path that leads to it.
private struct Reader {
    let object: [String: Any]
    let key: String

    init(_ value: Any, key: String) throws(AnalyticsConfig.ReadError) {
        guard let object = value as? [String: Any] else {
            throw AnalyticsConfig.ReadError(key: key, reason: "must be a JSON object")
        }
        self.object = object
        self.key = key
    }

    func path(_ name: String) -> String { key.isEmpty ? name : key + "." + name }

    func has(_ name: String) -> Bool { object[name] != nil }

    func only(_ known: [String]) throws(AnalyticsConfig.ReadError) {
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw AnalyticsConfig.ReadError(key: path(unknown), reason: "unknown key")
        }
    }

    func optional<T>(_ name: String, _ type: T.Type) throws(AnalyticsConfig.ReadError) -> T? {
        guard let value = object[name] else { return nil }
        // JSONSerialization gives numbers as NSNumber, which also casts to Bool.
        if T.self == Bool.self, !(value is NSNumber && isBoolean(value as! NSNumber)) {
            throw AnalyticsConfig.ReadError(key: path(name), reason: "must be true or false")
        }
        guard let typed = value as? T else {
            throw AnalyticsConfig.ReadError(
                key: path(name), reason: "must be \(T.self == String.self ? "a string" : "\(T.self)")")
        }
        return typed
    }

    func required<T>(_ name: String, _ type: T.Type) throws(AnalyticsConfig.ReadError) -> T {
        guard let value = try optional(name, type) else { throw AnalyticsConfig.ReadError(key: path(name), reason: "missing") }
        return value
    }

    func optionalNumber(_ name: String, minimum: Double) throws(AnalyticsConfig.ReadError) -> Double? {
        guard let value = object[name] else { return nil }
        guard let n = Self.number(value), n.isFinite, n >= minimum else {
            throw AnalyticsConfig.ReadError(key: path(name), reason: "must be a number of at least \(minimum)")
        }
        return n
    }

    func number(_ name: String, default value: Double, minimum: Double) throws(AnalyticsConfig.ReadError) -> Double {
        try optionalNumber(name, minimum: minimum) ?? value
    }

    static func number(_ value: Any) -> Double? {
        guard let n = value as? NSNumber, !isBoolean(n) else { return nil }
        return n.doubleValue
    }

    func list(_ name: String) throws(AnalyticsConfig.ReadError) -> [Reader] {
        guard let value = object[name] else { return [] }
        guard let items = value as? [Any] else { throw AnalyticsConfig.ReadError(key: path(name), reason: "must be a list") }
        var readers: [Reader] = []
        for (k, item) in items.enumerated() { readers.append(try Reader(item, key: path(name) + "[\(k)]")) }
        return readers
    }

    func child(_ name: String) throws(AnalyticsConfig.ReadError) -> Reader {
        try Reader(object[name] as Any, key: path(name))
    }

    func point(_ name: String) throws(AnalyticsConfig.ReadError) -> Point {
        guard let value = object[name] else { throw AnalyticsConfig.ReadError(key: path(name), reason: "missing") }
        guard let point = Self.point(value) else {
            throw AnalyticsConfig.ReadError(key: path(name), reason: "must be a point [x, y]")
        }
        return point
    }

    static func point(_ value: Any) -> Point? {
        guard let pair = value as? [Any], pair.count == 2, let x = number(pair[0]), let y = number(pair[1]), x.isFinite,
            y.isFinite
        else { return nil }
        return Point(x, y)
    }

    func points(_ name: String) throws(AnalyticsConfig.ReadError) -> [Point] {
        guard let value = object[name] else { throw AnalyticsConfig.ReadError(key: path(name), reason: "missing") }
        guard let items = value as? [Any] else {
            throw AnalyticsConfig.ReadError(key: path(name), reason: "must be a list of points [x, y]")
        }
        var points: [Point] = []
        for (k, item) in items.enumerated() {
            guard let point = Self.point(item) else {
                throw AnalyticsConfig.ReadError(key: path(name) + "[\(k)]", reason: "must be a point [x, y]")
            }
            points.append(point)
        }
        return points
    }

    func classes() throws(AnalyticsConfig.ReadError) -> Set<String>? {
        guard let names = try optional("classes", [Any].self) else { return nil }
        var set = Set<String>()
        for (k, name) in names.enumerated() {
            guard let s = name as? String, !s.isEmpty else {
                throw AnalyticsConfig.ReadError(key: path("classes") + "[\(k)]", reason: "must be a class name")
            }
            set.insert(s)
        }
        guard !set.isEmpty else { throw AnalyticsConfig.ReadError(key: path("classes"), reason: "must name at least one class") }
        return set
    }

    func anchor() throws(AnalyticsConfig.ReadError) -> AnalyticsConfig.Anchor {
        guard let name = try optional("anchor", String.self) else { return .bottom }
        guard let anchor = AnalyticsConfig.Anchor(rawValue: name) else {
            throw AnalyticsConfig.ReadError(key: path("anchor"), reason: "must be \"bottom\" or \"center\"")
        }
        return anchor
    }
}

/// JSONSerialization gives true and false as NSNumbers of type "c".
private func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
