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

    /// Creates (or empties) the file at `path`; errors call it `name` (default: `path`),
    /// so a file written beside its target can be reported as the target.
    public convenience init(creating path: String, name: String? = nil) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(name: name ?? path, reason: String(cString: strerror(errno))) }
        self.init(fd: fd, name: name ?? path, owned: true)
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
