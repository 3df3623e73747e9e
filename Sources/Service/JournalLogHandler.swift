import Foundation
import Logging

/// swift-log to stderr in the form journald reads: one line per message, starting
/// with the syslog priority in angle brackets (`<3>` error, `<4>` warning, `<6>` info,
/// `<7>` debug), which journald turns into the entry's level. Outside systemd the
/// prefix is left out unless `JOURNAL_STREAM` is set.
public struct JournalLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let prefixed: Bool

    public init(label: String, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.label = label
        prefixed = environment["JOURNAL_STREAM"] != nil
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level
        let priority: Int
        switch level {
        case .critical: priority = 2
        case .error: priority = 3
        case .warning: priority = 4
        case .notice: priority = 5
        case .info: priority = 6
        case .debug, .trace: priority = 7
        }
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let details =
            all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let text = "\(event.message)\(details)".replacingOccurrences(of: "\n", with: " ")
        let line = prefixed ? "<\(priority)>\(text)\n" : "\(label): \(level): \(text)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
