import Foundation

/// Reads a track log line by line in constant memory.
///
/// A log cut short by a crash ends in a partial line without its newline: the reader
/// returns every complete line before it and sets `truncatedTail`. A damaged line in
/// the middle is an error naming the line, and so is a frame line that repeats or goes
/// back (its index or its time not after the line before) or holds a number that is
/// not finite: trackd writes neither. Unknown fields and unknown line types are
/// skipped, so newer minor versions of the schema stay readable; a different major
/// version is refused.
public final class TrackLogReader {
    public let path: String
    public let header: LogHeader
    /// The last line was cut off (a crash while writing); everything before it was read.
    public private(set) var truncatedTail = false
    /// Number of the last line read, from 1.
    public private(set) var lineNumber = 0
    private var lines: LineReader
    private let decoder = JSONDecoder()
    /// The last frame line's index and time, since the last header.
    private var previous: (frame: Int, time: Double)?

    public init(path: String) throws {
        self.path = path
        lines = try LineReader(path: path)
        guard let (first, complete) = try lines.next({ (Data($0), $1) }) else { throw TrackLogError.notATrackLog(path: path) }
        lineNumber = 1
        // Check the schema before anything else, so a future major version is named
        // rather than reported as a decoding failure.
        guard let probe = try? decoder.decode(SchemaProbe.self, from: first), probe.type == "header" else {
            if !complete { truncatedTail = true }
            throw TrackLogError.notATrackLog(path: path)
        }
        guard TrackLogSchema.major(of: probe.schema) == TrackLogSchema.major else {
            throw TrackLogError.unsupportedSchema(path: path, schema: probe.schema)
        }
        do {
            header = try decoder.decode(LogHeader.self, from: first)
        } catch {
            throw TrackLogError.malformedLine(path: path, line: 1, reason: Self.reason(error))
        }
    }

    /// What `read(into:)` found.
    public enum Line: Sendable, Equatable {
        /// A frame line, its fields in the `FrameFields` given.
        case frame
        case event(LogEvent)
        case end(LogEnd)
        case header(LogHeader)
    }

    /// The next frame, event, end or header line; nil at the end of the file.
    public func next() throws -> LogRecord? {
        var fields = FrameFields()
        switch try read(into: &fields) {
        case .frame: return .frame(LogFrame(fields))
        case .event(let event): return .event(event)
        case .end(let end): return .end(end)
        case .header(let header): return .header(header)
        case nil: return nil
        }
    }

    /// The next frame, event, end or header line; a frame's fields go into `fields`, whose
    /// storage is reused (a loop over a log with one `FrameFields` allocates nothing
    /// per frame). Nil at the end of the file.
    public func read(into fields: inout FrameFields) throws -> Line? {
        enum Step {
            case line(Line)
            case otherType, cutOff
        }
        while let step = try lines.next({ line, complete throws -> Step in
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0 }) && !complete { return .cutOff }
            do {
                let parsed = try FrameLineParser.parse(line, into: &fields)
                switch parsed.type {
                case "frame":
                    if let problem = parsed.problem { throw problem }
                    try checkOrder(fields)
                    return .line(.frame)
                case "end": return .line(.end(try decoder.decode(LogEnd.self, from: Data(line))))
                case "event":
                    // An event of a kind from a newer trackd is skipped, as a line type is.
                    let kind = try decoder.decode(KindProbe.self, from: Data(line)).kind
                    guard LogEvent.Kind(rawValue: kind) != nil else { return .otherType }
                    return .line(.event(try decoder.decode(LogEvent.self, from: Data(line))))
                case "header":
                    previous = nil
                    return .line(.header(try decoder.decode(LogHeader.self, from: Data(line))))
                case nil: throw FrameLineParser.FieldError(reason: "missing type")
                default: return .otherType  // a line type from a newer trackd
                }
            } catch let error as FrameLineParser.FieldError {
                throw TrackLogError.malformedLine(path: path, line: lineNumber, reason: error.reason)
            } catch {
                if !complete { return .cutOff }
                throw TrackLogError.malformedLine(path: path, line: lineNumber, reason: Self.reason(error))
            }
        }) {
            switch step {
            case .line(let line): return line
            case .otherType: continue
            case .cutOff:
                truncatedTail = true
                return nil
            }
        }
        return nil
    }

    /// A frame comes after the one before it, in index and in time, with finite numbers.
    private func checkOrder(_ fields: FrameFields) throws(FrameLineParser.FieldError) {
        guard fields.time.isFinite else {
            throw FrameLineParser.FieldError(reason: "time \(fields.time) is not a finite number of seconds")
        }
        if let previous {
            guard fields.frame > previous.frame else {
                throw FrameLineParser.FieldError(
                    reason: "frame \(fields.frame) repeats or goes back (the frame line before is frame \(previous.frame))")
            }
            guard fields.time > previous.time else {
                throw FrameLineParser.FieldError(
                    reason: "time \(fields.time) s is not after the frame line before's (\(previous.time) s)")
            }
        }
        for t in fields.tracks where ![t.score, t.left, t.top, t.width, t.height].allSatisfy(\.isFinite) {
            throw FrameLineParser.FieldError(reason: "track \(t.id) has a number that is not finite")
        }
        previous = (fields.frame, fields.time)
    }

    private static func reason(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            "missing \(Self.keyPath(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "bad value at \(Self.keyPath(context.codingPath))"
        case DecodingError.dataCorrupted(let context):
            context.codingPath.isEmpty ? "not valid JSON" : "bad value at \(Self.keyPath(context.codingPath))"
        case let error as FrameLineParser.SyntaxError:
            "not valid JSON (at byte \(error.offset + 1))"
        default:
            "\(error)"
        }
    }

    private static func keyPath(_ path: [any CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

private struct KindProbe: Decodable {
    var kind: String
}

private struct SchemaProbe: Decodable {
    var type: String
    var schema: String
}

/// Lines of a file read in 1 MiB chunks: memory stays flat whatever the file's size,
/// and time linear in it, however long a line is. A line longer than `maxLineBytes`
/// is an error naming it (no track log has one: that is half a million tracks).
struct LineReader {
    static let maxLineBytes = 64 << 20

    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    /// Bytes of the unfinished line already searched for a newline.
    private var searched = 0
    private var atEnd = false
    private var lineNumber = 0
    private let path: String

    init(path: String) throws {
        self.path = path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw TrackLogError.cannotRead(path: path, reason: "no such file")
        }
        guard !isDirectory.boolValue, let handle = FileHandle(forReadingAtPath: path) else {
            throw TrackLogError.cannotRead(path: path, reason: isDirectory.boolValue ? "it is a directory" : "permission denied")
        }
        self.handle = handle
    }

    private func checkLength(_ bytes: Int) throws {
        guard bytes <= Self.maxLineBytes else {
            throw TrackLogError.malformedLine(
                path: path, line: lineNumber + 1,
                reason: "longer than \(Self.maxLineBytes >> 20) MiB; no track log line is")
        }
    }

    /// Hands `body` the next line without its newline (valid only during the call) and
    /// whether it had one; nil at the end of the file.
    mutating func next<R>(_ body: (UnsafeBufferPointer<UInt8>, Bool) throws -> R) throws -> R? {
        while true {
            let from = start + searched
            let found: Int? = buffer.withUnsafeBytes { raw in
                guard from < raw.count, let base = raw.baseAddress,
                    let hit = memchr(base + from, 0x0A, raw.count - from)
                else { return nil }
                return base.distance(to: UnsafeRawPointer(hit))
            }
            if let newline = found {
                try checkLength(newline - start)
                let range = start..<newline
                start = newline + 1
                searched = 0
                lineNumber += 1
                return try line(range, complete: true, body)
            }
            searched = buffer.count - start
            if atEnd {
                guard start < buffer.count else { return nil }
                let range = start..<buffer.count
                start = buffer.count
                searched = 0
                lineNumber += 1
                return try line(range, complete: false, body)
            }
            try checkLength(searched)
            // Drop what was consumed (once per chunk, not per byte of a long line), read more.
            if start > 0 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                throw TrackLogError.cannotRead(path: path, reason: "\(error.localizedDescription)")
            }
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }

    private func line<R>(_ range: Range<Int>, complete: Bool, _ body: (UnsafeBufferPointer<UInt8>, Bool) throws -> R) rethrows
        -> R
    {
        try buffer.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[range]), complete) }
    }
}
