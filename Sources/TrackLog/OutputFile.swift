import Foundation

/// Where one output of a command goes, decided once before any work, by one rule for
/// every output:
/// - `-` is standard output;
/// - a device, FIFO or socket is written in place: never renamed over, never removed
///   (`/dev/null` stays a device, a FIFO's reader gets the data);
/// - anything else, a regular file or a name not made yet, is written as a hidden file
///   beside it and renamed over it at the end, so a failure leaves the old file as it
///   was and a reader never sees half an output.
///
/// A symbolic link is followed to the name it finally means, a dangling one included,
/// and that file is replaced; the link stays a link.
public struct OutputFile: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case standardOutput
        case inPlace(String)
        case replacing(target: String, partial: String)
    }

    /// The name as given, for messages.
    public let name: String
    public let destination: Destination

    public init(_ name: String) {
        self.name = name
        if name == "-" {
            destination = .standardOutput
            return
        }
        let target = Self.resolvingLinks(name)
        var st = stat()
        if stat(target, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            destination = .inPlace(target)
        } else {
            destination = .replacing(target: target, partial: Self.partialName(beside: target))
        }
    }

    /// The path written while the work goes on; nil for standard output.
    public var workingPath: String? {
        switch destination {
        case .standardOutput: nil
        case .inPlace(let path): path
        case .replacing(_, let partial): partial
        }
    }

    public var isStandardOutput: Bool { destination == .standardOutput }

    /// Opens the working path to write (standard output: a duplicate of it, so closing
    /// it leaves the process's own alone).
    public func open() throws -> Int32 {
        let fd: Int32
        switch destination {
        case .standardOutput: fd = dup(STDOUT_FILENO)
        case .inPlace(let path): fd = Foundation.open(path, O_WRONLY | O_CLOEXEC)
        case .replacing(_, let partial): fd = Foundation.open(partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        }
        guard fd >= 0 else { throw TextOutput.WriteError(name: name, reason: String(cString: strerror(errno))) }
        return fd
    }

    /// Puts a finished output in place: the hidden file renamed over its target.
    public func commit() throws {
        guard case .replacing(let target, let partial) = destination else { return }
        guard rename(partial, target) == 0 else {
            throw TextOutput.WriteError(name: name, reason: String(cString: strerror(errno)))
        }
    }

    /// Takes back an output that will not be finished: the hidden file goes, and what
    /// was there before stays.
    public func discard() {
        if case .replacing(_, let partial) = destination { unlink(partial) }
    }

    /// The name `path` finally means once every symbolic link on the way is followed,
    /// the last one included even when it dangles, with its folder's links resolved: two
    /// spellings of one file, made or not yet made, give one answer.
    public static func resolvingLinks(_ path: String) -> String {
        var current = URL(fileURLWithPath: path).standardizedFileURL.path
        // As the kernel does, give up on a loop after 40 links.
        for _ in 0..<40 {
            guard let next = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { break }
            let folder = URL(fileURLWithPath: current).deletingLastPathComponent()
            current =
                (next.hasPrefix("/") ? URL(fileURLWithPath: next) : folder.appendingPathComponent(next)).standardizedFileURL.path
        }
        let url = URL(fileURLWithPath: current)
        guard let folder = realpath(url.deletingLastPathComponent().path, nil) else { return current }
        defer { free(folder) }
        let resolved = String(cString: folder)
        return (resolved == "/" ? "" : resolved) + "/" + url.lastPathComponent
    }

    /// `.<stem>.<pid>.partial.<ext>` beside `target`: hidden, one per process, and with
    /// the extension last, which chooses a video's container.
    static func partialName(beside target: String) -> String {
        let url = URL(fileURLWithPath: target)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? url.lastPathComponent : url.deletingPathExtension().lastPathComponent
        let name = ".\(stem).\(getpid()).partial" + (ext.isEmpty ? "" : "." + ext)
        return url.deletingLastPathComponent().appendingPathComponent(name).path
    }
}
