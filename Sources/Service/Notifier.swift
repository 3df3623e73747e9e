import Foundation

/// systemd's notification protocol, spoken directly: one datagram per message to the
/// Unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
/// namespace). Without the variable (not started by systemd) every call does nothing.
/// Each message is one `sendto`, which the kernel keeps whole: threads need no lock.
public final class Notifier: Sendable {
    private let address: sockaddr_un?
    private let length: socklen_t
    private let fd: Int32

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty, path.utf8.count < 108 else {
            address = nil
            length = 0
            fd = -1
            return
        }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            // "@name": an abstract socket, whose name starts with a NUL byte.
            if bytes.first == UInt8(ascii: "@") { raw[0] = 0 }
        }
        address = addr
        length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count)
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Whether systemd listens.
    public var isActive: Bool { address != nil && fd >= 0 }

    /// Sends `KEY=value` lines, e.g. `notify("READY=1", "STATUS=idle")`.
    @discardableResult
    public func notify(_ lines: String...) -> Bool {
        guard isActive, var address else { return false }
        let message = Array(lines.joined(separator: "\n").utf8)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == message.count
    }
}
