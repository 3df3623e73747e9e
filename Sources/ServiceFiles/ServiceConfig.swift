import Analytics
import Detection
import Foundation
import Tracking
import VideoIO

/// `trackd serve`'s configuration (JSON). Every field has a default, so `{}` is a
/// valid configuration; an unknown field or a bad value is an error naming it.
public struct ServiceConfig: Sendable, Equatable {
    /// The spool: `inbox/`, `processing/`, `done/`, `failed/`, `logs/` are made in it.
    public var spool = "/var/lib/trackd/spool"
    /// Jobs tracked at once.
    public var workers = 1
    /// A file in `inbox/` is claimed once its size and time have not changed for
    /// this long (files still being copied are left alone); names ending in `.part`
    /// or starting with `.` are never claimed.
    public var stableSeconds = 2.0
    /// How often `inbox/` is looked at.
    public var pollSeconds = 1.0
    /// Largest job JSON accepted, in bytes.
    public var maxJobBytes = 65_536
    /// The status file `trackd status` reads (default: `<spool>/status.json`).
    public var statusFile: String?
    /// A running job that processes no frame, or a stream that holds a frame without
    /// finishing it, for this long is stalled: the systemd watchdog is no longer fed.
    /// A stream waiting on a silent source is not.
    public var stallSeconds = 60.0
    public var detector = DetectorSettings()
    /// The tracker's defaults with the keys of `tracker` in the configuration on top.
    public var tracker = TrackerConfig()
    public var streams: [StreamConfig] = []
    /// The HTTP API; nil: none.
    public var http: HTTPConfig?
    /// Where URL jobs may fetch from.
    public var urlJobs = URLJobHosts()
    /// Events to an MQTT broker; nil: none.
    public var mqtt: MQTTConfig?
    /// Events POSTed to HTTP receivers.
    public var webhooks: [WebhookConfig] = []
    /// This host as one node of a fleet sharing jobs through PostgreSQL; nil: alone.
    public var fleet: FleetConfig?

    public init() {}

    public var statusPath: String { statusFile ?? (spool as NSString).appendingPathComponent("status.json") }

    /// The detector for jobs and streams.
    public struct DetectorSettings: Sendable, Equatable {
        /// Model file; nil: the default model.
        public var model: String?
        public var labels: String?
        public var conf = 0.25
        public var iou = 0.45
        public var classes: [String] = []
        public var threads = 0
        public var precision = "auto"
        /// Square input size a YOLO model is reshaped to; nil: its own.
        public var inputSize: Int?
        /// "square", or "fitted" to each source's aspect ratio at the same long side.
        public var inputShape = InputShape.square
        public var classAwareNMS = false
        /// Tiles of this many source pixels besides the whole frame; nil: none.
        public var tileSize: Int?

        public init() {}

        public var options: DetectorOptions {
            var o = DetectorOptions()
            o.modelPath = model
            o.labelsPath = labels
            o.confidence = conf
            o.iou = iou
            o.classes = classes
            o.threads = threads
            o.precision = InferencePrecision(rawValue: precision) ?? .auto
            o.inputSize = inputSize
            o.inputShape = inputShape
            o.classAwareNMS = classAwareNMS
            o.tileSize = tileSize
            return o
        }
    }

    /// A live source: anything FFmpeg opens (rtsp, http, udp, srt, a device).
    public struct StreamConfig: Sendable, Equatable {
        /// Names its logs: `logs/streams/<name>/<name>-<UTC start>.jsonl`.
        public var name = ""

        /// Whether `name` may name a stream: letters, digits, '-', '_' or '.', not
        /// first (it names a folder).
        public static func isValid(name: String) -> Bool {
            !name.isEmpty && name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) && !name.hasPrefix(".")
        }
        public var url = ""
        /// Demuxer / protocol options, as `-o key=value` on the command line.
        public var options: [String: String] = [:]
        /// A new log file every this many seconds.
        public var rotateSeconds = 3600.0
        /// Run the detector on every N-th frame.
        public var stride = 1
        /// Reconnection back-off: first wait, doubled up to the maximum.
        public var retryInitialSeconds = 1.0
        public var retryMaxSeconds = 60.0
        /// Lines, zones and speed to count (inline, or read from a file when the
        /// configuration is loaded).
        public var analytics: AnalyticsConfig?

        public init() {}
    }
}

extension ServiceConfig {
    /// `serve`'s HTTP API: where it listens and the token it asks for.
    public struct HTTPConfig: Sendable, Equatable {
        /// An IP address (IPv6 in brackets) or `localhost`, and a port; port 0 takes
        /// any free one (the status says which).
        public var host = "127.0.0.1"
        public var port = 8089
        /// The bearer token every request must carry; required unless `host` is a
        /// loopback address (127.0.0.0/8, ::1, localhost).
        public var token: String?
        /// Host names, besides IP addresses and `localhost`, that a request's `Host`
        /// may give: a page whose name resolves to this machine (DNS rebinding) gives
        /// its own name, so it is refused. `"*"` allows any.
        public var allowedHosts: [String] = []
        /// Origins (`https://ops.example.com`) whose pages may call the API from a
        /// browser, besides the API's own page. `"*"` allows any.
        public var allowedOrigins: [String] = []
        /// Connections served at once; more wait in the listen queue. Well below the
        /// process's descriptors, so that clients cannot take those of streams and logs.
        public var maxConnections = 256
        /// A connection that sends no complete request part (a header trickled a byte
        /// at a time) or stays idle this long is closed.
        public var idleSeconds = 10.0
        /// What is wrong but not refused: a secret file that others may read.
        public var warnings: [String] = []

        public init() {}

        /// Whether only this machine can reach `host`.
        public var isLoopback: Bool {
            if host == "localhost" || host == "::1" { return true }
            var v4 = in_addr()
            return inet_pton(AF_INET, host, &v4) == 1 && UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
    }
}

extension ServiceConfig {
    /// One node of a fleet: jobs submitted to any node are queued in PostgreSQL and run
    /// by whichever node has a free worker.
    public struct FleetConfig: Sendable, Equatable {
        /// `postgresql://user@host[:port]/database[?sslmode=disable|prefer|require|verify-full]`.
        public var database = ""
        public var host = ""
        public var port = 5432
        public var user = ""
        public var databaseName = ""
        public var sslMode = "prefer"
        /// The password (read from `passwordFile`); nil: none (trust, peer or a
        /// certificate).
        public var password: String?
        /// This node's name in the fleet: one live process per name.
        public var node = ""
        /// Where the other nodes reach this node's HTTP API (`http://host1:8089`).
        public var advertise = ""
        /// A node whose heartbeat is older than this is dead to the others, and what it
        /// held is taken over.
        public var leaseSeconds = 15.0
        /// Streams this node may track at once: the fleet's streams spread over the
        /// nodes by their slots.
        public var streamSlots = 4
        /// Storage every node mounts: a job's `source` that is a path is relative to it.
        public var sharedRoot: String?
        public var warnings: [String] = []

        public init() {}

        fileprivate init(_ f: Fields) throws {
            self.init()
            try f.known(["database", "passwordFile", "node", "advertise", "leaseSeconds", "streamSlots", "sharedRoot"])
            database = try f.string("database") ?? ""
            guard let url = URLComponents(string: database), ["postgresql", "postgres"].contains(url.scheme ?? ""),
                let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty
            else {
                throw f.error("database", "must be a URL as postgresql://trackd@db-host[:port]/trackd")
            }
            guard url.password == nil else {
                throw f.error("database", "holds a password: put it in passwordFile, which only trackd's user may read")
            }
            (self.host, self.user) = (host, user)
            port = url.port ?? port
            databaseName = String(url.path.dropFirst())
            if databaseName.isEmpty { databaseName = user }
            for item in url.queryItems ?? [] {
                guard item.name == "sslmode", let mode = item.value,
                    ["disable", "prefer", "require", "verify-full"].contains(mode)
                else {
                    throw f.error(
                        "database", "takes one parameter, sslmode=disable|prefer|require|verify-full; given \(item.name)")
                }
                sslMode = mode
            }
            if let file = try f.string("passwordFile") {
                guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                    throw f.error("passwordFile", "cannot read \(file)")
                }
                password = text.trimmingCharacters(in: .whitespacesAndNewlines)
                if let warning = HTTPConfig.readableByOthers(file) { warnings.append(warning) }
            }
            node = try f.string("node") ?? ""
            guard !node.isEmpty, node.count <= 64, node.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw f.error(
                    "node", "must be a name of 1 to 64 letters, digits, '-', '_' or '.' (this host's, unique in the fleet)")
            }
            advertise = try f.string("advertise") ?? ""
            guard let base = URL(string: advertise), ["http", "https"].contains(base.scheme ?? ""), base.host != nil,
                base.path.isEmpty || base.path == "/"
            else {
                throw f.error("advertise", "must be this node's API as the others reach it, as http://host1:8089")
            }
            if advertise.hasSuffix("/") { advertise.removeLast() }
            leaseSeconds = try f.number("leaseSeconds", in: 1...3600) ?? leaseSeconds
            streamSlots = try f.int("streamSlots", in: 0...1024) ?? streamSlots
            if let root = try f.string("sharedRoot") {
                guard root.hasPrefix("/") else { throw f.error("sharedRoot", "must be an absolute path") }
                sharedRoot = root
            }
        }
    }
}

/// A configuration error, naming the file and the field.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var field: String
    public var reason: String
    public var description: String { "\(file): \(field.isEmpty ? "" : field + ": ")\(reason)" }

    public init(file: String, field: String, reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }
}

extension ServiceConfig {
    /// Reads and checks a configuration file.
    public static func load(_ path: String) throws -> ServiceConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(file: path, field: "", reason: "cannot read it (\((error as NSError).localizedDescription))")
        }
        return try parse(data, file: path)
    }

    public static func parse(_ data: Data, file: String) throws -> ServiceConfig {
        let json: [String: Any]
        do {
            json = try StrictJSON.object(data)
        } catch {
            throw ConfigError(file: file, field: "", reason: error.reason)
        }
        return try ServiceConfig(reader: Fields(json, path: "", file: file))
    }

    private init(reader r: Fields) throws {
        self.init()
        try r.known([
            "spool", "workers", "stableSeconds", "pollSeconds", "maxJobBytes", "statusFile", "stallSeconds",
            "detector", "tracker", "streams", "http", "urlJobs", "mqtt",
            "webhooks", "fleet"
        ])
        spool = try r.string("spool") ?? spool
        guard spool.hasPrefix("/") else { throw r.error("spool", "must be an absolute path") }
        workers = try r.int("workers", in: 1...64) ?? workers
        stableSeconds = try r.number("stableSeconds", in: 0...3600) ?? stableSeconds
        pollSeconds = try r.number("pollSeconds", in: 0.05...3600) ?? pollSeconds
        maxJobBytes = try r.int("maxJobBytes", in: 2...(16 << 20)) ?? maxJobBytes
        statusFile = try r.string("statusFile") ?? statusFile
        stallSeconds = try r.number("stallSeconds", in: 1...86_400) ?? stallSeconds
        if let d = try r.object("detector") {
            try d.known([
                "model", "labels", "conf", "iou", "classes", "threads", "precision", "inputSize", "inputShape", "classAwareNMS",
                "tileSize"
            ])
            detector.model = try d.string("model")
            detector.labels = try d.string("labels")
            detector.conf = try d.number("conf", in: 0...1) ?? detector.conf
            detector.iou = try d.number("iou", in: 0.01...1) ?? detector.iou
            detector.classes = try d.strings("classes") ?? []
            detector.threads = try d.int("threads", in: 0...1024) ?? detector.threads
            detector.precision = try d.string("precision") ?? detector.precision
            detector.inputSize = try d.int("inputSize", in: 32...4096)
            if let shape = try d.string("inputShape") {
                guard let known = InputShape(rawValue: shape) else {
                    throw d.error("inputShape", "must be one of \(InputShape.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                detector.inputShape = known
            }
            detector.classAwareNMS = try d.bool("classAwareNMS") ?? detector.classAwareNMS
            detector.tileSize = try d.int("tileSize", in: 32...16384)
            guard InferencePrecision(rawValue: detector.precision) != nil else {
                throw d.error(
                    "precision", "must be one of \(InferencePrecision.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if let given = r.raw("tracker") {
            do {
                tracker = try TrackerConfig(json: try JSONSerialization.data(withJSONObject: given, options: .fragmentsAllowed))
            } catch let error as TrackerConfig.ReadError {
                throw r.error("tracker" + (error.key.isEmpty ? "" : "." + error.key), error.reason)
            }
        }
        if let h = try r.object("http") {
            http = try HTTPConfig(h)
        }
        if let m = try r.object("mqtt") {
            mqtt = try MQTTConfig(m)
        }
        if let list = try r.array("webhooks") {
            webhooks = try WebhookConfig.list(list, in: r)
        }
        if let f = try r.object("fleet") {
            fleet = try FleetConfig(f)
            // The other nodes reach this one's logs through its API.
            guard http != nil else { throw r.error("fleet", "needs the http section: the fleet's nodes talk over the HTTP API") }
        }
        if let u = try r.object("urlJobs") {
            try u.known(["allowHosts"])
            let hosts = try u.strings("allowHosts")
            if let bad = hosts?.first(where: { $0.isEmpty || $0.contains(where: { " /@".contains($0) }) }) {
                throw u.error("allowHosts", "'\(bad)' is not a host name or address")
            }
            urlJobs = URLJobHosts(allowHosts: hosts)
        }
        if let list = try r.array("streams") {
            var names = Set<String>()
            streams = try list.enumerated().map { k, item in
                let s = Fields(item, path: "streams[\(k)]", file: r.file)
                guard s.isObject else { throw ConfigError(file: r.file, field: "streams[\(k)]", reason: "must be an object") }
                try s.known([
                    "name", "url", "options", "rotateSeconds", "stride", "retryInitialSeconds", "retryMaxSeconds", "analytics"
                ])
                var stream = StreamConfig()
                stream.name = try s.string("name") ?? ""
                guard StreamConfig.isValid(name: stream.name) else {
                    throw s.error("name", "must be a non-empty name of letters, digits, '-', '_' or '.'")
                }
                guard names.insert(stream.name).inserted else { throw s.error("name", "'\(stream.name)' is used twice") }
                stream.url = try s.string("url") ?? ""
                guard !stream.url.isEmpty else { throw s.error("url", "is required") }
                stream.options = try s.stringMap("options") ?? [:]
                // Caught now, not by a stream that would retry its bad option for good.
                if let unknown = FrameReader.optionsNoComponentTakes(stream.options.keys).first {
                    throw s.error("options", "no FFmpeg demuxer or protocol takes the option '\(unknown)'")
                }
                stream.rotateSeconds = try s.number("rotateSeconds", in: 1...31_536_000) ?? stream.rotateSeconds
                stream.stride = try s.int("stride", in: 1...1000) ?? stream.stride
                stream.retryInitialSeconds = try s.number("retryInitialSeconds", in: 0.01...3600) ?? stream.retryInitialSeconds
                stream.retryMaxSeconds =
                    try s.number("retryMaxSeconds", in: stream.retryInitialSeconds...86_400) ?? stream.retryMaxSeconds
                stream.analytics = try s.analytics("analytics")
                return stream
            }
        }
    }
}

extension ServiceConfig.HTTPConfig {
    /// The least length of a token: a guessable one would protect nothing.
    static let minimumTokenLength = 16

    fileprivate init(_ h: Fields) throws {
        self.init()
        try h.known(["listen", "token", "tokenFile", "allowedHosts", "allowedOrigins", "maxConnections", "idleSeconds"])
        maxConnections = try h.int("maxConnections", in: 1...16384) ?? maxConnections
        idleSeconds = try h.number("idleSeconds", in: 0.1...3600) ?? idleSeconds
        if let listen = try h.string("listen") {
            guard let (host, port) = Self.hostAndPort(listen) else {
                throw h.error("listen", "must be an address and a port, as 127.0.0.1:8089 or [::1]:8089")
            }
            (self.host, self.port) = (host, port)
        }
        let given = try h.string("token")
        let file = try h.string("tokenFile")
        if given != nil, file != nil { throw h.error("tokenFile", "give token or tokenFile, not both") }
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw h.error("tokenFile", "cannot read \(file)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if let warning = Self.readableByOthers(file) { warnings.append(warning) }
        } else {
            token = given
        }
        if let token, token.count < Self.minimumTokenLength || token.contains(where: { $0.isWhitespace }) {
            throw h.error(
                file != nil ? "tokenFile" : "token", "must be at least \(Self.minimumTokenLength) characters, without spaces")
        }
        if token == nil, !isLoopback {
            throw h.error("token", "is required (or tokenFile) when listen is not a loopback address: \(host)")
        }
        allowedHosts = try h.strings("allowedHosts")?.map { $0.lowercased() } ?? []
        if let bad = allowedHosts.first(where: { $0.isEmpty || $0.contains(where: { " /:@".contains($0) }) }) {
            throw h.error("allowedHosts", "'\(bad)' is not a host name (no scheme, port or path)")
        }
        allowedOrigins = try h.strings("allowedOrigins") ?? []
        for origin in allowedOrigins where origin != "*" {
            guard let url = URL(string: origin), ["http", "https"].contains(url.scheme ?? ""), url.host != nil,
                url.path.isEmpty, url.query == nil, url.user == nil
            else {
                throw h.error("allowedOrigins", "'\(origin)' is not an origin, as https://ops.example.com[:port]")
            }
        }
    }

    /// A warning, as ssh gives, for a secret file that other users may read.
    static func readableByOthers(_ file: String) -> String? {
        var st = stat()
        guard stat(file, &st) == 0, st.st_mode & 0o004 != 0 else { return nil }
        return "\(file) holds a secret and any user of this machine may read it (mode "
            + String(st.st_mode & 0o777, radix: 8) + "): chmod o-r it"
    }

    /// `host:port`, `[v6]:port`; the host must be an IP address or `localhost`.
    static func hostAndPort(_ listen: String) -> (String, Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(listen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        guard host == "localhost" || inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1 else { return nil }
        return (host, port)
    }
}

/// The fields of one JSON object, read with the path for error messages.
struct Fields {
    let object: [String: Any]?
    let path: String
    let file: String

    init(_ value: Any, path: String, file: String) {
        object = value as? [String: Any]
        self.path = path
        self.file = file
    }

    var isObject: Bool { object != nil }

    func error(_ key: String, _ reason: String) -> ConfigError {
        ConfigError(file: file, field: path.isEmpty ? key : path + "." + key, reason: reason)
    }

    func known(_ keys: [String]) throws {
        guard let object else { throw ConfigError(file: file, field: path, reason: "must be a JSON object") }
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            throw error(unknown, "unknown field")
        }
    }

    func raw(_ key: String) -> Any? {
        guard let v = object?[key], !(v is NSNull) else { return nil }
        return v
    }

    func string(_ key: String) throws -> String? {
        guard let v = raw(key) else { return nil }
        guard let s = v as? String else { throw error(key, "must be a string") }
        return s
    }

    func number(_ key: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let v = raw(key) else { return nil }
        guard let n = v as? NSNumber, !isBoolean(n) else { throw error(key, "must be a number") }
        let d = n.doubleValue
        guard range.contains(d) else { throw error(key, "must be between \(range.lowerBound) and \(range.upperBound)") }
        return d
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = raw(key) else { return nil }
        guard let n = v as? NSNumber, isBoolean(n) else { throw error(key, "must be true or false") }
        return n.boolValue
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let d = try number(key, in: Double(range.lowerBound)...Double(range.upperBound)) else { return nil }
        guard d.rounded() == d else { throw error(key, "must be a whole number") }
        return Int(d)
    }

    func object(_ key: String) throws -> Fields? {
        guard let v = raw(key) else { return nil }
        guard v is [String: Any] else { throw error(key, "must be an object") }
        return Fields(v, path: path.isEmpty ? key : path + "." + key, file: file)
    }

    func array(_ key: String) throws -> [Any]? {
        guard let v = raw(key) else { return nil }
        guard let a = v as? [Any] else { throw error(key, "must be a list") }
        return a
    }

    func strings(_ key: String) throws -> [String]? {
        guard let a = try array(key) else { return nil }
        guard let s = a as? [String] else { throw error(key, "must be a list of strings") }
        return s
    }

    /// Analytics inline, or in the JSON file a string names (relative to the
    /// configuration's folder).
    func analytics(_ key: String) throws -> AnalyticsConfig? {
        guard let v = raw(key) else { return nil }
        var given = v
        var field = path.isEmpty ? key : path + "." + key
        var source = file
        if let name = v as? String {
            let named = name.hasPrefix("/") ? name : URL(fileURLWithPath: file).deletingLastPathComponent().path + "/" + name
            guard let data = FileManager.default.contents(atPath: named) else { throw error(key, "cannot read \(named)") }
            do {
                given = try StrictJSON.object(data)
            } catch {
                throw ConfigError(file: named, field: "", reason: error.reason)
            }
            (source, field) = (named, "")
        }
        do {
            return try AnalyticsConfig(object: given)
        } catch {
            let full = [field, error.key].filter { !$0.isEmpty }.joined(separator: ".")
            throw ConfigError(file: source, field: full, reason: error.reason)
        }
    }

    func stringMap(_ key: String) throws -> [String: String]? {
        guard let v = raw(key) else { return nil }
        guard let m = v as? [String: Any] else { throw error(key, "must be an object of strings") }
        return try m.mapValues { value in
            if let s = value as? String { return s }
            if let n = value as? NSNumber, !isBoolean(n) { return n.stringValue }
            throw error(key, "values must be strings or numbers")
        }
    }
}

/// JSONSerialization gives true and false as NSNumbers of type char.
private func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
