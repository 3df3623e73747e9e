import Foundation
import TrackLog

extension ServiceConfig {
    /// Events POSTed to an HTTP receiver (an entry of `"webhooks"`).
    public struct WebhookConfig: Sendable, Equatable {
        /// Names the receiver in the status and metrics, and its outbox under the spool;
        /// by default made of the URL's host and path, so that reordering the list
        /// keeps each receiver's backlog its own.
        public var name: String
        public var url: String
        /// The kinds of event sent (`start`, `end`, `line`, `enter`, `exit`, `loiter`,
        /// `speed`); nil: all of them.
        public var events: Set<String>?
        /// The key of the HMAC-SHA256 signature over each body; nil: unsigned.
        public var secret: String?
        /// A request that has not been answered in this long is retried.
        public var timeoutSeconds = 10.0
        public var retryInitialSeconds = 1.0
        public var retryMaxSeconds = 60.0
        /// The on-disk outbox's bound: past it, the oldest events are dropped.
        public var maxOutboxBytes = 100 << 20
        /// Said in the journal at start: a secret file others may read.
        public var warnings: [String] = []

        /// Every kind of event a receiver can be sent.
        public static let eventKinds = ["start", "end"] + LogEvent.Kind.allCases.map(\.rawValue)

        public init(url: String, name: String? = nil) {
            self.url = url
            self.name = name ?? Self.defaultName(url)
        }

        /// `hooks.example.com-trackd-events` for `https://hooks.example.com/trackd/events`.
        static func defaultName(_ url: String) -> String {
            let parts = URLComponents(string: url)
            let words = [parts?.host ?? ""] + (parts?.path ?? "").split(separator: "/").map(String.init)
            let name = words.filter { !$0.isEmpty }.joined(separator: "-")
            return String(name.map { $0.isLetter || $0.isNumber || "-_.".contains($0) ? $0 : "_" }.prefix(100))
        }
    }
}

extension ServiceConfig.WebhookConfig {
    /// The `webhooks` list: each entry checked, names unique.
    static func list(_ items: [Any], in r: Fields) throws -> [Self] {
        var names = Set<String>()
        return try items.enumerated().map { k, item in
            let w = Fields(item, path: "webhooks[\(k)]", file: r.file)
            let hook = try Self(w)
            guard names.insert(hook.name).inserted else {
                throw w.error("name", "'\(hook.name)' names two webhooks: give each its own name")
            }
            return hook
        }
    }

    init(_ w: Fields) throws {
        try w.known(
            ["name", "url", "events", "secretFile", "timeoutSeconds", "retryInitialSeconds", "retryMaxSeconds", "maxOutboxBytes"])
        let url = try w.string("url") ?? ""
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = parts.host, !host.isEmpty, parts.user == nil, parts.fragment == nil
        else {
            throw w.error("url", "must be an http:// or https:// URL (without credentials: sign with secretFile)")
        }
        self.init(url: url, name: try w.string("name"))
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }), !name.hasPrefix(".") else {
            throw w.error("name", "must be a non-empty name of letters, digits, '-', '_' or '.'")
        }
        if let kinds = try w.strings("events") {
            if let unknown = kinds.first(where: { !Self.eventKinds.contains($0) }) {
                throw w.error("events", "'\(unknown)' is not an event (one of \(Self.eventKinds.joined(separator: ", ")))")
            }
            guard !kinds.isEmpty else { throw w.error("events", "must name at least one event (or be left out: all)") }
            events = Set(kinds)
        }
        if let file = try w.string("secretFile") {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw w.error("secretFile", "cannot read \(file)")
            }
            secret = text.trimmingCharacters(in: .whitespacesAndNewlines)
            guard secret?.isEmpty == false else { throw w.error("secretFile", "\(file) is empty") }
            if let warning = ServiceConfig.HTTPConfig.readableByOthers(file) { warnings.append(warning) }
        }
        timeoutSeconds = try w.number("timeoutSeconds", in: 0.1...600) ?? timeoutSeconds
        retryInitialSeconds = try w.number("retryInitialSeconds", in: 0.01...3600) ?? retryInitialSeconds
        retryMaxSeconds = try w.number("retryMaxSeconds", in: retryInitialSeconds...86_400) ?? retryMaxSeconds
        maxOutboxBytes = try w.int("maxOutboxBytes", in: 1024...(1 << 40)) ?? maxOutboxBytes
    }
}
