import Foundation
import MOTFiles

/// One frame line's fields, parsed in place from the line's bytes. Readers that keep
/// one and parse line after line into it (`TrackLogReader.read(into:)`) allocate
/// nothing per line for ordinary logs: class names and states are short enough to be
/// stored inline in their strings, and the track array keeps its capacity.
public struct FrameFields: Sendable, Equatable {
    public var frame = 0
    public var time = 0.0
    public var tracks: [TrackFields] = []

    public init() {}
}

/// One track of a frame line.
public struct TrackFields: Sendable, Equatable {
    public var id = 0
    public var className = ""
    public var classId = 0
    public var score = 0.0
    public var left = 0.0, top = 0.0, width = 0.0, height = 0.0
    public var state = "confirmed"

    public init() {}
}

extension FrameFields {
    public init(_ frame: LogFrame) {
        self.frame = frame.frame
        time = frame.time
        tracks = frame.tracks.map { t in
            var f = TrackFields()
            f.id = t.id
            f.className = t.class
            f.classId = t.classId
            f.score = t.score
            (f.left, f.top, f.width, f.height) = (t.box[0], t.box[1], t.box[2], t.box[3])
            f.state = t.state
            return f
        }
    }
}

extension LogFrame {
    public init(_ fields: FrameFields) {
        self.init(
            frame: fields.frame, time: fields.time,
            tracks: fields.tracks.map { t in
                LogTrack(
                    id: t.id, class: t.className, classId: t.classId, score: t.score,
                    box: [t.left, t.top, t.width, t.height], state: t.state)
            })
    }
}

/// Parses track log lines at the byte level: a frame line straight into `FrameFields`
/// (JSONDecoder costs ~100 µs a line on Linux, and a generic JSON tree allocates per
/// value: both too slow for logs of millions of lines). The whole line is checked as
/// JSON; keys it does not know are checked and skipped.
struct FrameLineParser {
    /// A line that is not JSON, with the offset of the first byte that does not fit.
    struct SyntaxError: Error, Equatable {
        var offset: Int
    }

    /// A JSON line whose frame fields are missing or of the wrong kind.
    struct FieldError: Error, Equatable {
        var reason: String
    }

    /// What a line held.
    struct Parsed {
        /// The line's `type`, nil when it has none.
        var type: String?
        /// For a frame line: the first field missing or bad, in the order frame, time,
        /// tracks, then each track's box, id, class, classId, score.
        var problem: FieldError?
    }

    /// The problem found so far and its rank in the order above; the lowest is kept,
    /// so the message does not depend on the order of the keys in the line.
    private var problem: (rank: Int, reason: String)?

    /// Parses a line. A frame's fields go into `fields`, its storage reused; for other
    /// types `fields` holds whatever frame keys the line had.
    static func parse(_ line: UnsafeBufferPointer<UInt8>, into fields: inout FrameFields) throws(SyntaxError) -> Parsed {
        var scanner = JSONScanner(bytes: line)
        var parser = FrameLineParser()
        let type = try parser.frame(&scanner, into: &fields)
        return Parsed(type: type, problem: parser.problem.map { FieldError(reason: $0.reason) })
    }

    private mutating func report(_ rank: Int, _ reason: String) {
        if problem == nil || rank < problem!.rank { problem = (rank, reason) }
    }

    private mutating func frame(_ scanner: inout JSONScanner, into fields: inout FrameFields) throws(SyntaxError) -> String? {
        var type: String?
        var seen = (frame: false, time: false, tracks: false)
        try scanner.object { (s, key) throws(SyntaxError) in
            if s.key(key, is: "type") {
                var found = ""
                type = try s.string(into: &found) ? found : nil
            } else if s.key(key, is: "frame") {
                seen.frame = try s.integer(into: &fields.frame)
            } else if s.key(key, is: "time") {
                seen.time = try s.number(into: &fields.time)
            } else if s.key(key, is: "tracks") {
                seen.tracks = try tracks(&s, into: &fields.tracks)
            } else {
                try s.skipValue()
            }
        }
        try scanner.end()
        if !seen.frame { report(0, "missing or bad frame") }
        if !seen.time { report(1, "missing or bad time") }
        if !seen.tracks { report(2, "missing or bad tracks") }
        return type
    }

    /// The tracks array; false when the value is not an array. The array's elements are
    /// parsed over the previous line's (their strings are kept when the bytes match).
    private mutating func tracks(_ s: inout JSONScanner, into tracks: inout [TrackFields]) throws(SyntaxError) -> Bool {
        guard s.peek == UInt8(ascii: "[") else {
            try s.skipValue()
            tracks.removeAll(keepingCapacity: true)
            return false
        }
        var count = 0
        try s.array { (s) throws(SyntaxError) in
            if count == tracks.count { tracks.append(TrackFields()) }
            try track(&s, count, into: &tracks[count])
            count += 1
        }
        tracks.removeLast(tracks.count - count)
        return true
    }

    private mutating func track(_ s: inout JSONScanner, _ k: Int, into t: inout TrackFields) throws(SyntaxError) {
        let rank = 3 + 5 * k
        guard s.peek == UInt8(ascii: "{") else {
            try s.skipValue()
            report(rank, "missing or bad tracks[\(k)].box")
            return
        }
        var seen = (box: false, id: false, class: false, classId: false, score: false)
        var sawState = false
        try s.object { (s, key) throws(SyntaxError) in
            if s.key(key, is: "box") {
                seen.box = false
                guard s.peek == UInt8(ascii: "[") else {
                    try s.skipValue()
                    return
                }
                seen.box = true
                var numbers = 0
                try s.array { (s) throws(SyntaxError) in
                    guard let n = try s.numberValue() else { return }  // not a number: not counted
                    switch numbers {
                    case 0: t.left = n
                    case 1: t.top = n
                    case 2: t.width = n
                    case 3: t.height = n
                    default: break
                    }
                    numbers += 1
                }
                if numbers != 4 { report(rank, "tracks[\(k)].box must have 4 numbers") }
            } else if s.key(key, is: "id") {
                seen.id = try s.integer(into: &t.id)
            } else if s.key(key, is: "class") {
                seen.class = try s.string(into: &t.className)
            } else if s.key(key, is: "classId") {
                seen.classId = try s.integer(into: &t.classId)
            } else if s.key(key, is: "score") {
                seen.score = try s.number(into: &t.score)
            } else if s.key(key, is: "state") {
                sawState = try s.string(into: &t.state)
            } else {
                try s.skipValue()
            }
        }
        if !sawState { t.state = "confirmed" }
        if !seen.box { report(rank, "missing or bad tracks[\(k)].box") }
        if !seen.id { report(rank + 1, "missing or bad tracks[\(k)].id") }
        if !seen.class { report(rank + 2, "missing or bad tracks[\(k)].class") }
        if !seen.classId { report(rank + 3, "missing or bad tracks[\(k)].classId") }
        if !seen.score { report(rank + 4, "missing or bad tracks[\(k)].score") }
    }
}

/// A JSON reader over one line's bytes, value by value, checked against the grammar
/// (RFC 8259) as it goes.
struct JSONScanner {
    typealias SyntaxError = FrameLineParser.SyntaxError

    let bytes: UnsafeBufferPointer<UInt8>
    private(set) var at = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func fail() -> SyntaxError { SyntaxError(offset: at) }

    /// The next byte after white space, nil at the end.
    var peek: UInt8? {
        mutating get {
            skipSpace()
            return at < bytes.count ? bytes[at] : nil
        }
    }

    mutating func skipSpace() {
        while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x09 || bytes[at] == 0x0A || bytes[at] == 0x0D { at += 1 }
    }

    /// Only white space is left.
    mutating func end() throws(SyntaxError) {
        skipSpace()
        guard at == bytes.count else { throw fail() }
    }

    private mutating func expect(_ literal: StaticString) throws(SyntaxError) {
        let n = literal.utf8CodeUnitCount
        guard at + n <= bytes.count else { throw fail() }
        for k in 0..<n where bytes[at + k] != literal.utf8Start[k] { throw fail() }
        at += n
    }

    /// A key's raw bytes (between the quotes, escapes undecoded) is `name`.
    func key(_ key: Range<Int>, is name: StaticString) -> Bool {
        guard key.count == name.utf8CodeUnitCount else { return false }
        for k in 0..<key.count where bytes[key.lowerBound + k] != name.utf8Start[k] { return false }
        return true
    }

    /// An object; `member` is called at each value with the key's raw byte range, and
    /// must consume the value.
    mutating func object(_ member: (inout JSONScanner, Range<Int>) throws(SyntaxError) -> Void) throws(SyntaxError) {
        guard peek == UInt8(ascii: "{") else { throw fail() }
        at += 1
        if peek == UInt8(ascii: "}") {
            at += 1
            return
        }
        while true {
            guard peek == UInt8(ascii: "\"") else { throw fail() }
            let key = try stringBytes()
            guard peek == UInt8(ascii: ":") else { throw fail() }
            at += 1
            skipSpace()
            try member(&self, key.range)
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "}"):
                at += 1
                return
            default: throw fail()
            }
        }
    }

    /// An array; `element` is called at each element and must consume it.
    mutating func array(_ element: (inout JSONScanner) throws(SyntaxError) -> Void) throws(SyntaxError) {
        guard peek == UInt8(ascii: "[") else { throw fail() }
        at += 1
        if peek == UInt8(ascii: "]") {
            at += 1
            return
        }
        while true {
            skipSpace()
            try element(&self)
            switch peek {
            case UInt8(ascii: ","): at += 1
            case UInt8(ascii: "]"):
                at += 1
                return
            default: throw fail()
            }
        }
    }

    /// Any value, checked and passed over.
    mutating func skipValue() throws(SyntaxError) {
        switch peek {
        case UInt8(ascii: "{"): try object { (s, _) throws(SyntaxError) in try s.skipValue() }
        case UInt8(ascii: "["): try array { (s) throws(SyntaxError) in try s.skipValue() }
        case UInt8(ascii: "\""): _ = try stringBytes()
        case UInt8(ascii: "t"): try expect("true")
        case UInt8(ascii: "f"): try expect("false")
        case UInt8(ascii: "n"): try expect("null")
        case nil: throw fail()
        default: _ = try number()
        }
    }

    /// A string value into `text`, which is left as it is when it already holds these
    /// bytes (no new string for the same class name line after line); false (the
    /// value passed over, `text` unchanged) for any other kind.
    mutating func string(into text: inout String) throws(SyntaxError) -> Bool {
        guard peek == UInt8(ascii: "\"") else {
            try skipValue()
            return false
        }
        let (range, escaped) = try stringBytes()
        let raw = UnsafeBufferPointer(rebasing: bytes[range])
        if escaped {
            text = try unescape(raw, from: range.lowerBound)
        } else if !Self.same(text, raw) {
            text = String(decoding: raw, as: UTF8.self)
        }
        return true
    }

    private static func same(_ text: String, _ raw: UnsafeBufferPointer<UInt8>) -> Bool {
        text.utf8.withContiguousStorageIfAvailable { have in
            have.count == raw.count && (raw.isEmpty || memcmp(have.baseAddress!, raw.baseAddress!, raw.count) == 0)
        } ?? false
    }

    /// A number value; nil (the value passed over) for any other kind.
    mutating func numberValue() throws(SyntaxError) -> Double? {
        guard let c = peek, c == UInt8(ascii: "-") || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) else {
            try skipValue()
            return nil
        }
        return try number()
    }

    /// An integral number value (below 9·10^15 in size, exact in a Double) into
    /// `value`; false (`value` unchanged) for any other value.
    mutating func integer(into value: inout Int) throws(SyntaxError) -> Bool {
        guard let n = try numberValue(), n.rounded() == n, abs(n) < 9e15 else { return false }
        value = Int(n)
        return true
    }

    /// A number value into `value`; false (the value passed over, `value` unchanged)
    /// for any other kind.
    mutating func number(into value: inout Double) throws(SyntaxError) -> Bool {
        guard let n = try numberValue() else { return false }
        value = n
        return true
    }

    /// A string's bytes between its quotes, and whether it has escapes; checks the
    /// escapes' form and that no control character is raw.
    private mutating func stringBytes() throws(SyntaxError) -> (range: Range<Int>, escaped: Bool) {
        at += 1
        let start = at
        var escaped = false
        while at < bytes.count {
            let b = bytes[at]
            if b == UInt8(ascii: "\"") {
                at += 1
                return (start..<at - 1, escaped)
            }
            guard b >= 0x20 else { throw fail() }
            at += 1
            guard b == UInt8(ascii: "\\") else { continue }
            escaped = true
            guard at < bytes.count else { throw fail() }
            switch bytes[at] {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                at += 1
            case UInt8(ascii: "u"):
                at += 1
                for _ in 0..<4 {
                    guard at < bytes.count, Self.hexDigit(bytes[at]) != nil else { throw fail() }
                    at += 1
                }
            default:
                throw fail()
            }
        }
        throw fail()
    }

    private static func hexDigit(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// Decodes a string's escapes (already checked for form by `stringBytes`); a lone
    /// or misordered surrogate is an error at its offset.
    private func unescape(_ raw: UnsafeBufferPointer<UInt8>, from offset: Int) throws(SyntaxError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        var i = 0
        func hex4(_ at: Int) -> UInt32 {
            (0..<4).reduce(0) { $0 << 4 | Self.hexDigit(raw[at + $1])! }
        }
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar) {
                    // A surrogate pair: the low half follows as \uXXXX.
                    guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") else {
                        throw SyntaxError(offset: offset + i)
                    }
                    let low = hex4(i + 2)
                    guard (0xDC00..<0xE000).contains(low) else { throw SyntaxError(offset: offset + i) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                guard let u = Unicode.Scalar(scalar) else { throw SyntaxError(offset: offset + i) }
                out.append(contentsOf: String(Character(u)).utf8)
            default: out.append(e)  // " \ /
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A number, checked against the grammar; converted directly when that is exact,
    /// else by strtod.
    private mutating func number() throws(SyntaxError) -> Double {
        let start = at
        var mantissa: UInt64 = 0
        var digits = 0
        var scale = 0
        func digit() -> UInt8? {
            guard at < bytes.count, bytes[at] >= UInt8(ascii: "0"), bytes[at] <= UInt8(ascii: "9") else { return nil }
            return bytes[at] - UInt8(ascii: "0")
        }
        let negative = at < bytes.count && bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        guard let first = digit() else { throw fail() }
        if first == 0 {
            at += 1
        } else {
            while let d = digit() {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(d)
                    digits += 1
                } else {
                    scale += 1
                }
                at += 1
            }
        }
        if at < bytes.count, bytes[at] == UInt8(ascii: ".") {
            at += 1
            guard digit() != nil else { throw fail() }
            while let d = digit() {
                if digits < 19 {
                    mantissa = mantissa * 10 + UInt64(d)
                    scale -= 1
                    if mantissa > 0 { digits += 1 }
                }
                at += 1
            }
        }
        var exact = true
        if at < bytes.count, bytes[at] == UInt8(ascii: "e") || bytes[at] == UInt8(ascii: "E") {
            at += 1
            if at < bytes.count, bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") { at += 1 }
            guard digit() != nil else { throw fail() }
            while digit() != nil { at += 1 }
            exact = false
        }
        if exact, digits <= 15, abs(scale) <= 22 {
            let value = scale < 0 ? Double(mantissa) / exactPowerOfTen(-scale) : Double(mantissa) * exactPowerOfTen(scale)
            return negative ? -value : value
        }
        // strtod needs a terminated string; numbers are short.
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: at - start + 1) { buffer in
            for k in start..<at { buffer[k - start] = CChar(bitPattern: bytes[k]) }
            buffer[at - start] = 0
            return strtod(buffer.baseAddress!, nil)
        }
    }
}
