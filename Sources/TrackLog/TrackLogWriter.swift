import Foundation

public enum TrackLogError: Error, Sendable, Equatable, CustomStringConvertible {
    case cannotCreate(path: String, reason: String)
    case writeFailed(path: String, reason: String)
    case cannotRead(path: String, reason: String)
    case malformedLine(path: String, line: Int, reason: String)
    case notATrackLog(path: String)
    case unsupportedSchema(path: String, schema: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason): "cannot create the track log \(path): \(reason)"
        case .writeFailed(let path, let reason): "cannot write the track log \(path): \(reason)"
        case .cannotRead(let path, let reason): "cannot read \(path): \(reason)"
        case .malformedLine(let path, let line, let reason): "\(path):\(line): \(reason)"
        case .notATrackLog(let path): "\(path) is not a trackd track log (its first line is not a header)"
        case .unsupportedSchema(let path, let schema):
            "\(path) has schema \(schema); this trackd reads \(TrackLogSchema.id)"
        }
    }
}

/// Appends a track log so that a crash at any moment leaves a valid log up to its
/// last complete line: each line goes to the kernel in one `write` as soon as it is
/// made (nothing is buffered in the process), the data reach the disk at least once
/// a second (`fdatasync`) and at the end (`fsync`). The log appears under its name
/// only with its header: until `begin`, it is written as a hidden file beside it,
/// renamed into place once the header is on disk, so a run killed early or started on
/// a full disk leaves no empty log behind (and an older file of that name stays as it
/// was until then). A device, a FIFO and `-` (standard output) are written in place,
/// and a link's target is replaced (`OutputFile`).
public final class TrackLogWriter {
    public let path: String
    private var fd: Int32
    /// Where the log goes, until it is there: nil once the header is in place.
    private var pending: OutputFile?
    private var lastSync = Date()
    private let encoder: JSONEncoder

    /// Opens the file to write, so an unwritable path fails before any work starts;
    /// `begin` then writes the header.
    public init(path: String) throws {
        self.path = path
        let output = OutputFile(path)
        do {
            fd = try output.open()
        } catch let error as TextOutput.WriteError {
            throw TrackLogError.cannotCreate(path: path, reason: error.reason)
        }
        pending = output
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    }

    /// Writes the header and puts the log in place under its name.
    public func begin(_ header: LogHeader) throws {
        do {
            try write(try encoder.encode(header))
            guard let output = pending else { return }
            if case .replacing = output.destination, fdatasync(fd) != 0 {
                throw TrackLogError.writeFailed(path: path, reason: String(cString: strerror(errno)))
            }
            do {
                try output.commit()
            } catch let error as TextOutput.WriteError {
                throw TrackLogError.writeFailed(path: path, reason: error.reason)
            }
            pending = nil
        } catch {
            abandon()
            throw error
        }
    }

    /// Gives up a log whose header was never written: nothing is left behind.
    public func abandon() {
        guard let output = pending else { return }
        output.discard()
        pending = nil
        close(fd)
        fd = -1
    }

    deinit {
        abandon()
        if fd >= 0 { close(fd) }
    }

    /// Bytes of complete lines written so far.
    public private(set) var bytesWritten = 0

    public func append(_ frame: LogFrame) throws {
        try write(Data(frame.jsonLine.utf8))
        if Date().timeIntervalSince(lastSync) >= 1 {
            fdatasync(fd)
            lastSync = Date()
        }
    }

    /// An analytics event, after the frame line of the frame that decided it.
    public func append(_ event: LogEvent) throws {
        try write(Data(event.jsonLine.utf8))
    }

    /// Writes the end line, syncs and closes the file.
    public func finish(_ end: LogEnd) throws {
        try write(try encoder.encode(end))
        // EINVAL: a device or pipe that cannot be synced (/dev/null); nothing to wait for.
        guard fsync(fd) == 0 || errno == EINVAL else {
            throw TrackLogError.writeFailed(path: path, reason: String(cString: strerror(errno)))
        }
        close(fd)
        fd = -1
    }

    private func write(_ json: Data) throws {
        guard fd >= 0 else { throw TrackLogError.writeFailed(path: path, reason: "the log is already closed") }
        var line = json
        line.append(UInt8(ascii: "\n"))
        // One write for the whole line; any error stops the run with the reason.
        try line.withUnsafeBytes { bytes in
            if let error = writeAll(fd, bytes) {
                throw TrackLogError.writeFailed(path: path, reason: String(cString: strerror(error)))
            }
        }
        bytesWritten += line.count
    }
}

extension LogFrame {
    /// The frame as one line of JSON, keys in a fixed order (type first), so equal
    /// runs give byte-equal logs; written by hand because it is the hot path.
    var jsonLine: String {
        var s = "{\"type\":\"frame\",\"frame\":\(frame),\"time\":\(time),\"tracks\":["
        for (k, t) in tracks.enumerated() {
            if k > 0 { s += "," }
            s += "{\"id\":\(t.id),\"class\":"
            s += jsonString(t.class)
            s += ",\"classId\":\(t.classId),\"score\":\(t.score),\"box\":["
            s += t.box.map { "\($0)" }.joined(separator: ",")
            s += "],\"state\":" + jsonString(t.state) + "}"
        }
        return s + "]}"
    }
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
    var s = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": s += "\\\""
        case "\\": s += "\\\\"
        case "\n": s += "\\n"
        case "\r": s += "\\r"
        case "\t": s += "\\t"
        case _ where scalar.value < 0x20: s += String(format: "\\u%04x", scalar.value)
        default: s.unicodeScalars.append(scalar)
        }
    }
    return s + "\""
}
