import Foundation

/// Where URL jobs may fetch from. A URL job makes the daemon fetch whatever address
/// it is given, and FFmpeg follows redirects, so a job can reach any HTTP service the
/// daemon's host can (another loopback port, a cloud metadata address). `allowHosts`
/// limits it: names (`nas.example`), suffixes (`.example.com`), IP addresses; `nil`
/// allows any host, except that jobs submitted over a token-protected API may not
/// reach loopback or link-local addresses unless they are listed.
public struct URLJobHosts: Sendable, Equatable {
    public var allowHosts: [String]?

    public init(allowHosts: [String]? = nil) {
        self.allowHosts = allowHosts?.map { $0.lowercased() }
    }

    /// Why `url` may not be fetched; nil when it may. `guarded`: submitted over an API
    /// that a token protects.
    public func refusal(of url: String, guarded: Bool) -> String? {
        guard let host = URLComponents(string: url)?.host?.lowercased(), !host.isEmpty else { return nil }
        let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        if let allowHosts {
            let listed = allowHosts.contains { $0 == bare || ($0.hasPrefix(".") && bare.hasSuffix($0)) }
            return listed ? nil : "\(bare) is not in urlJobs.allowHosts"
        }
        guard guarded else { return nil }
        if let address = Self.addresses(of: bare).first(where: Self.isLocal) {
            return "\(bare) is \(address), a loopback or link-local address, which jobs submitted over the API may not reach "
                + "(list it in urlJobs.allowHosts to allow it)"
        }
        return nil
    }

    /// The addresses a name resolves to (an address literal: itself).
    static func addresses(of host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0 else { return [] }
        defer { freeaddrinfo(list) }
        var found: [String] = []
        var entry = list
        while let info = entry?.pointee {
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(info.ai_addr, info.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST) == 0 {
                found.append(String(cString: name))
            }
            entry = info.ai_next
        }
        return found
    }

    /// 127.0.0.0/8, ::1, 169.254.0.0/16, fe80::/10, and 0.0.0.0 (which reaches this host).
    static func isLocal(_ address: String) -> Bool {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let value = UInt32(bigEndian: v4.s_addr)
            return value >> 24 == 127 || value >> 16 == 0xA9FE || value == 0
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address.split(separator: "%").first.map(String.init) ?? address, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: v6) { Array($0) }
        let loopback = bytes.dropLast().allSatisfy { $0 == 0 } && bytes.last == 1
        let unspecified = bytes.allSatisfy { $0 == 0 }
        let linkLocal = bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80
        let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
        return loopback || unspecified || linkLocal || (mapped && isLocal("\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])"))
    }
}
