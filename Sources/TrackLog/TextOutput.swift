import Foundation

/// A text output written with plain `write(2)` calls, so that a failure (a full disk,
/// a closed pipe) is an error naming the output and the system's reason, never a
/// crash or output silently lost.
public final class TextOutput {
    public struct WriteError: Error, Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var reason: String
        public var description: String { "cannot write \(name): \(reason)" }
    }

    private var fd: Int32
    private let owned: Bool
    /// How errors name the output: its path, or "standard output".
    public let name: String

    /// The process's standard output.
    public static var standardOutput: TextOutput { TextOutput(fd: STDOUT_FILENO, name: "standard output", owned: false) }

    private init(fd: Int32, name: String, owned: Bool) {
        self.fd = fd
        self.name = name
        self.owned = owned
    }

    /// Opens `output`'s working path (see `OutputFile`); errors name the output as
    /// given, not the hidden file written beside it. `commit` it once closed.
    public convenience init(_ output: OutputFile) throws {
        self.init(fd: try output.open(), name: output.isStandardOutput ? "standard output" : output.name, owned: true)
    }

    deinit {
        if owned, fd >= 0 { Foundation.close(fd) }
    }

    public func write(_ text: String) throws {
        var text = text
        try text.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let error = writeAll(fd, bytes) {
            throw WriteError(name: name, reason: String(cString: strerror(error)))
        }
    }

    /// Flushes a file to the disk and closes it; a full disk can first show here.
    public func close() throws {
        guard owned, fd >= 0 else { return }
        defer { fd = -1 }
        // EINVAL: a device or pipe (/dev/null), which has nothing to sync.
        if fsync(fd) != 0, errno != EINVAL {
            let error = errno
            Foundation.close(fd)
            throw WriteError(name: name, reason: String(cString: strerror(error)))
        }
        if Foundation.close(fd) != 0 { throw WriteError(name: name, reason: String(cString: strerror(errno))) }
    }
}

/// Writes all of `bytes` to `fd`: one `write` when it can, the rest after a short
/// write (a disk filling up), retried after a signal. Returns the `errno` of a
/// failure, nil on success.
func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let n = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += n
    }
    return nil
}
