import Foundation

/// The service's JSON inputs — its configuration, job files and API bodies — read
/// strictly: Foundation's parser takes an object with a key given twice and keeps the
/// last, so `{"video": "a.mp4", "video": "b.mp4"}` would mean whatever the writer's
/// last line said; here it is refused, as a mistake or an attempt to slip a value
/// past a check that read the first.
public enum StrictJSON {
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        /// Completes "the file …" or "the body …": "is not valid JSON (…)".
        public var reason: String
        public var description: String { reason }
    }

    /// The JSON object in `data`.
    public static func object(_ data: Data) throws(Refusal) -> [String: Any] {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: data)
        } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            throw Refusal(reason: "is not valid JSON" + (detail.map { " (\($0))" } ?? ""))
        }
        guard let object = value as? [String: Any] else { throw Refusal(reason: "is not a JSON object") }
        if let key = repeatedKey(in: data) { throw Refusal(reason: "gives the key '\(key)' twice in one object") }
        return object
    }

    /// The first key that an object of `data` (valid JSON) gives twice, compared as
    /// the parser decodes it (escapes resolved).
    static func repeatedKey(in data: Data) -> String? {
        let bytes = [UInt8](data)
        // One entry per open object or array: the keys of an object so far, and
        // whether the next string in it is a key.
        var open: [(keys: Set<String>, expectsKey: Bool)?] = []
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case UInt8(ascii: "{"): open.append((keys: [], expectsKey: true))
            case UInt8(ascii: "["): open.append(nil)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = open.popLast()
            case UInt8(ascii: ","): if open.last??.expectsKey == false { open[open.count - 1]?.expectsKey = true }
            case UInt8(ascii: "\""):
                let start = i
                i += 1
                while i < bytes.count, bytes[i] != UInt8(ascii: "\"") { i += bytes[i] == UInt8(ascii: "\\") ? 2 : 1 }
                if let top = open.last, let object = top, object.expectsKey {
                    let key = decoded(bytes[start...min(i, bytes.count - 1)])
                    if object.keys.contains(key) { return key }
                    open[open.count - 1]?.keys.insert(key)
                    open[open.count - 1]?.expectsKey = false
                }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// A JSON string literal, quotes included, as the parser reads it.
    private static func decoded(_ literal: ArraySlice<UInt8>) -> String {
        guard literal.contains(UInt8(ascii: "\\")) else { return String(decoding: literal.dropFirst().dropLast(), as: UTF8.self) }
        return (try? JSONSerialization.jsonObject(with: Data(literal), options: .fragmentsAllowed)) as? String
            ?? String(decoding: literal, as: UTF8.self)
    }
}
