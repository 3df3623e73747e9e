import Foundation

extension ServiceConfig {
    /// Events to an MQTT broker (`"mqtt"` in the service's configuration).
    public struct MQTTConfig: Sendable, Equatable {
        public var host = "127.0.0.1"
        public var port = 1883
        /// `mqtts://`: TLS, with `caFile` (the system's CAs when absent) and an optional
        /// client certificate.
        public var tls = false
        public var caFile: String?
        public var certFile: String?
        public var keyFile: String?
        public var topicPrefix = "trackd"
        public var clientId: String
        public var username: String?
        public var password: String?
        /// 0 or 1.
        public var qos = 1
        /// 4 (MQTT 3.1.1) or 5.
        public var protocolVersion = 4
        public var keepaliveSeconds = 30
        /// Home Assistant's MQTT discovery messages for the line counts and zones.
        public var homeAssistant = false
        /// How often `PREFIX/stats` is published.
        public var statsSeconds = 30.0
        /// The on-disk outbox's bound: past it, the oldest events are dropped.
        public var maxOutboxBytes = 100 << 20

        public init(clientId: String = "trackd-" + ProcessInfo.processInfo.hostName) {
            self.clientId = clientId
        }
    }
}

extension ServiceConfig.MQTTConfig {
    init(_ m: Fields) throws {
        self.init()
        try m.known([
            "url", "topicPrefix", "clientId", "username", "passwordFile", "qos", "protocol", "keepaliveSeconds", "tls",
            "homeAssistant", "statsSeconds", "maxOutboxBytes"
        ])
        let url = try m.string("url") ?? "mqtt://127.0.0.1:1883"
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), ["mqtt", "mqtts"].contains(scheme),
            let host = parts.host, !host.isEmpty, parts.path.isEmpty || parts.path == "/", parts.user == nil
        else {
            throw m.error(
                "url", "must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (credentials go in username and passwordFile)")
        }
        self.host = host
        tls = scheme == "mqtts"
        port = parts.port ?? (tls ? 8883 : 1883)
        topicPrefix = try m.string("topicPrefix") ?? topicPrefix
        guard !topicPrefix.isEmpty, !topicPrefix.contains(where: { "#+\0".contains($0) }), !topicPrefix.hasSuffix("/") else {
            throw m.error("topicPrefix", "must be a topic without wildcards (#, +) or a trailing /")
        }
        clientId = try m.string("clientId") ?? clientId
        guard !clientId.isEmpty, clientId.utf8.count <= 65535 else { throw m.error("clientId", "must not be empty") }
        username = try m.string("username")
        if let file = try m.string("passwordFile") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw m.error("passwordFile", "cannot read \(file)")
            }
            password = text.trimmingCharacters(in: .newlines)
        }
        qos = try m.int("qos", in: 0...1) ?? qos
        switch try m.string("protocol") ?? "3.1.1" {
        case "3.1.1": protocolVersion = 4
        case "5": protocolVersion = 5
        default: throw m.error("protocol", "must be \"3.1.1\" or \"5\"")
        }
        keepaliveSeconds = try m.int("keepaliveSeconds", in: 5...3600) ?? keepaliveSeconds
        if let t = try m.object("tls") {
            try t.known(["caFile", "certFile", "keyFile"])
            caFile = try t.string("caFile")
            certFile = try t.string("certFile")
            keyFile = try t.string("keyFile")
            guard (certFile == nil) == (keyFile == nil) else { throw t.error("keyFile", "give certFile and keyFile together") }
            for (key, file) in [("caFile", caFile), ("certFile", certFile), ("keyFile", keyFile)] {
                if let file, !FileManager.default.isReadableFile(atPath: file) { throw t.error(key, "cannot read \(file)") }
            }
            guard tls else { throw m.error("tls", "needs an mqtts:// url") }
        }
        homeAssistant = try m.bool("homeAssistant") ?? homeAssistant
        statsSeconds = try m.number("statsSeconds", in: 1...86_400) ?? statsSeconds
        maxOutboxBytes = try m.int("maxOutboxBytes", in: 1024...(1 << 40)) ?? maxOutboxBytes
    }
}
