import Foundation

/// The `metadata_props` of an ONNX file (exporters store class names, input size and
/// stride there), read straight from the protobuf: OpenVINO's C API does not expose
/// them. Only the top level of `ModelProto` is walked; the graph is skipped over.
@_spi(Fuzzing) public enum ONNXMetadata {
    /// Key-value pairs, or empty when the file is not ONNX or carries none.
    static func read(_ path: String) -> [String: String] {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return [:] }
        return data.withUnsafeBytes(parse)
    }

    /// The key-value pairs of an ONNX file's bytes.
    @_spi(Fuzzing) public static func parse(_ raw: UnsafeRawBufferPointer) -> [String: String] {
        var reader = ProtobufReader(raw[...])
        var result: [String: String] = [:]
        // ModelProto field 14: repeated StringStringEntryProto { 1: key, 2: value }.
        while let (field, value) = reader.next() {
            guard field == 14, case .bytes(let entry) = value else { continue }
            var inner = ProtobufReader(entry)
            var key: String?
            var text: String?
            while let (f, v) = inner.next() {
                guard case .bytes(let b) = v else { continue }
                if f == 1 { key = String(decoding: b, as: UTF8.self) }
                if f == 2 { text = String(decoding: b, as: UTF8.self) }
            }
            if let key, let text { result[key] = text }
        }
        return reader.failed ? [:] : result
    }

    /// Class names from a Python dict literal such as `{0: 'person', 1: "kid's bike"}`,
    /// as Ultralytics and YOLOv5 write them; nil if it is not one.
    static let maxClassID = 65_535

    @_spi(Fuzzing) public static func names(_ literal: String) -> [String]? {
        var byID: [Int: String] = [:]
        var s = Substring(literal.trimmingCharacters(in: .whitespaces))
        guard s.first == "{" else { return nil }
        s = s.dropFirst()
        while true {
            s = s.drop(while: { $0 == " " || $0 == "," })
            if s.first == "}" { break }
            let digits = s.prefix(while: \.isNumber)
            guard let id = Int(digits) else { return nil }
            s = s.dropFirst(digits.count).drop(while: { $0 == " " })
            guard s.first == ":" else { return nil }
            s = s.dropFirst().drop(while: { $0 == " " })
            guard let quote = s.first, quote == "'" || quote == "\"" else { return nil }
            s = s.dropFirst()
            var name = ""
            while let c = s.first, c != quote {
                s = s.dropFirst()
                if c == "\\", let escaped = s.first {
                    name.append(escaped)
                    s = s.dropFirst()
                } else {
                    name.append(c)
                }
            }
            guard !s.isEmpty else { return nil }
            s = s.dropFirst()
            byID[id] = name
        }
        // Ids number the classes from 0: one far past them (a damaged or hostile file)
        // would make a list of billions of names.
        guard !byID.isEmpty, let top = byID.keys.max(), top <= Self.maxClassID else { return nil }
        return (0...top).map { byID[$0] ?? String($0) }
    }

    /// An input size from `[640, 640]` or `640`, as (height, width).
    @_spi(Fuzzing) public static func imageSize(_ literal: String) -> (height: Int, width: Int)? {
        let numbers = literal.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        switch numbers.count {
        case 1: return (numbers[0], numbers[0])
        case 2: return (numbers[0], numbers[1])
        default: return nil
        }
    }
}

/// Reads protobuf fields one at a time from a byte range.
private struct ProtobufReader {
    enum Value {
        case number(UInt64)
        case bytes(Slice<UnsafeRawBufferPointer>)
    }

    private var bytes: Slice<UnsafeRawBufferPointer>
    private(set) var failed = false

    init(_ bytes: Slice<UnsafeRawBufferPointer>) { self.bytes = bytes }

    private mutating func varint() -> UInt64? {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.first, shift < 64 {
            bytes = bytes.dropFirst()
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        return nil
    }

    /// The next field number and value; nil at the end or on malformed input.
    mutating func next() -> (Int, Value)? {
        guard !bytes.isEmpty, !failed else { return nil }
        guard let key = varint() else {
            failed = true
            return nil
        }
        let field = Int(key >> 3)
        switch key & 7 {
        case 0:
            guard let v = varint() else {
                failed = true
                return nil
            }
            return (field, .number(v))
        case 1, 5:
            let size = key & 7 == 1 ? 8 : 4
            guard bytes.count >= size else {
                failed = true
                return nil
            }
            bytes = bytes.dropFirst(size)
            return (field, .number(0))
        case 2:
            guard let length = varint(), length <= UInt64(bytes.count) else {
                failed = true
                return nil
            }
            let value = bytes.prefix(Int(length))
            bytes = bytes.dropFirst(Int(length))
            return (field, .bytes(value))
        default:
            failed = true
            return nil
        }
    }
}
