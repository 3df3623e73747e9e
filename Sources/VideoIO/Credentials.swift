/// `text` with the user information of every URL in it (`rtsp://user:password@cam/`)
/// replaced by `***`: what trackd shows or logs — errors, log headers, the journal,
/// the API — never holds a camera's or a server's password.
public func redactingCredentials(_ text: String) -> String {
    var result = ""
    var rest = Substring(text)
    while let scheme = rest.range(of: "://") {
        result += rest[..<scheme.upperBound]
        rest = rest[scheme.upperBound...]
        // The authority ends at the path, query, fragment or a space; the user
        // information is everything up to its last '@'.
        let end = rest.firstIndex { "/?#".contains($0) || $0.isWhitespace } ?? rest.endIndex
        if let at = rest[..<end].lastIndex(of: "@") {
            result += "***"
            rest = rest[at...]
        }
    }
    return result + rest
}

/// Whether `url` carries a user name or password.
public func hasCredentials(_ url: String) -> Bool { redactingCredentials(url) != url }
