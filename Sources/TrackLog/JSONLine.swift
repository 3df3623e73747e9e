import Foundation

/// A JSON value, as a small parser over one line's bytes gives it. Frame lines are
/// read with it rather than JSONDecoder, which on Linux costs ~100 µs a line: too
/// slow for logs of millions of lines.
enum JSONValue: Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }

    var double: Double? {
        if case .number(let n) = self { return n }
        return nil
    }

    /// An integral number.
    var int: Int? {
        guard case .number(let n) = self, n.rounded() == n, abs(n) < 9e15 else { return nil }
        return Int(n)
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    struct ParseError: Error {
        var offset: Int
    }

    /// Parses one complete JSON text; throws at the first byte that does not fit.
    static func parse(_ data: Data) throws -> JSONValue {
        try data.withUnsafeBytes { raw in
            var parser = Parser(bytes: raw.bindMemory(to: UInt8.self))
            let value = try parser.value()
            parser.skipSpace()
            guard parser.at == parser.bytes.count else { throw ParseError(offset: parser.at) }
            return value
        }
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0A || bytes[at] == 0x0D { at += 1 }
        }

        private func fail() -> ParseError { ParseError(offset: at) }

        private mutating func expect(_ literal: StaticString) throws {
            let n = literal.utf8CodeUnitCount
            guard at + n <= bytes.count else { throw fail() }
            for k in 0..<n where bytes[at + k] != literal.utf8Start[k] { throw fail() }
            at += n
        }

        mutating func value() throws -> JSONValue {
            skipSpace()
            guard at < bytes.count else { throw fail() }
            switch bytes[at] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "n"): try expect("null"); return .null
            default: return .number(try number())
            }
        }

        private mutating func object() throws -> JSONValue {
            at += 1
            var fields: [String: JSONValue] = [:]
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "}") { at += 1; return .object(fields) }
            while true {
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: "\"") else { throw fail() }
                let key = try string()
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { throw fail() }
                at += 1
                fields[key] = try value()
                skipSpace()
                guard at < bytes.count else { throw fail() }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                guard bytes[at] == UInt8(ascii: "}") else { throw fail() }
                at += 1
                return .object(fields)
            }
        }

        private mutating func array() throws -> JSONValue {
            at += 1
            var items: [JSONValue] = []
            skipSpace()
            if at < bytes.count, bytes[at] == UInt8(ascii: "]") { at += 1; return .array(items) }
            while true {
                items.append(try value())
                skipSpace()
                guard at < bytes.count else { throw fail() }
                if bytes[at] == UInt8(ascii: ",") { at += 1; continue }
                guard bytes[at] == UInt8(ascii: "]") else { throw fail() }
                at += 1
                return .array(items)
            }
        }

        private mutating func string() throws -> String {
            at += 1
            let start = at
            // Fast path: no escapes.
            while at < bytes.count, bytes[at] != UInt8(ascii: "\""), bytes[at] != UInt8(ascii: "\\") {
                guard bytes[at] >= 0x20 else { throw fail() }
                at += 1
            }
            guard at < bytes.count else { throw fail() }
            if bytes[at] == UInt8(ascii: "\"") {
                defer { at += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<at]), as: UTF8.self)
            }
            var out = Array(bytes[start..<at])
            while at < bytes.count {
                let b = bytes[at]
                if b == UInt8(ascii: "\"") {
                    at += 1
                    return String(decoding: out, as: UTF8.self)
                }
                guard b >= 0x20 else { throw fail() }
                if b != UInt8(ascii: "\\") {
                    out.append(b)
                    at += 1
                    continue
                }
                at += 1
                guard at < bytes.count else { throw fail() }
                let e = bytes[at]
                at += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A surrogate pair: the low half follows as \uXXXX.
                        try expect("\\u")
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let u = Unicode.Scalar(scalar) else { throw fail() }
                    out.append(contentsOf: Array(String(Character(u)).utf8))
                default: throw fail()
                }
            }
            throw fail()
        }

        private mutating func hex4() throws -> UInt32 {
            guard at + 4 <= bytes.count else { throw fail() }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[at]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: throw fail()
                }
                v = v << 4 | UInt32(d)
                at += 1
            }
            return v
        }

        /// A JSON number: checked against the grammar, converted by strtod.
        private mutating func number() throws -> Double {
            let start = at
            func digits() -> Int {
                let s = at
                while at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") { at += 1 }
                return at - s
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digits() > 0 else { throw fail() }
            if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
                at += 1
                guard digits() > 0 else { throw fail() }
            }
            if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
                at += 1
                if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
                guard digits() > 0 else { throw fail() }
            }
            // strtod needs a terminated string; numbers are short.
            return withUnsafeTemporaryAllocation(of: CChar.self, capacity: at - start + 1) { buffer in
                for k in start..<at { buffer[k - start] = CChar(bitPattern: bytes[k]) }
                buffer[at - start] = 0
                return strtod(buffer.baseAddress!, nil)
            }
        }
    }
}

extension LogFrame {
    /// A frame line's fields from a parsed line; keys it does not know are ignored.
    init(json: JSONValue) throws {
        func need<T>(_ value: T?, _ key: String) throws -> T {
            guard let value else { throw LineError(reason: "missing or bad \(key)") }
            return value
        }
        frame = try need(json["frame"]?.int, "frame")
        time = try need(json["time"]?.double, "time")
        tracks = try need(json["tracks"]?.array, "tracks").enumerated().map { k, t in
            let box = try need(t["box"]?.array?.compactMap(\.double), "tracks[\(k)].box")
            guard box.count == 4 else { throw LineError(reason: "tracks[\(k)].box must have 4 numbers") }
            return LogTrack(id: try need(t["id"]?.int, "tracks[\(k)].id"),
                            class: try need(t["class"]?.string, "tracks[\(k)].class"),
                            classId: try need(t["classId"]?.int, "tracks[\(k)].classId"),
                            score: try need(t["score"]?.double, "tracks[\(k)].score"),
                            box: box,
                            state: t["state"]?.string ?? "confirmed")
        }
    }

    struct LineError: Error {
        var reason: String
    }
}
