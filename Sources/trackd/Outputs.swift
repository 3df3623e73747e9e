import Foundation
import TrackLog

/// The files a command reads and writes, checked before any work: no output may be
/// one of the inputs, and no two outputs one file. "One file" is decided by device and
/// inode for files that exist — so symbolic links, hard links and `./` spellings all
/// count — and, for files not yet made, by the name every link on the way (a dangling
/// one too) finally leads to. Devices and FIFOs (`/dev/null`, a pipe) are left alone:
/// nothing is lost there. Two outputs cannot both be `-`, standard output.
struct FileRoles {
    private var inputs: [(role: String, path: String)] = []
    private var outputs: [(role: String, path: String)] = []

    mutating func input(_ role: String, _ path: String?) {
        if let path { inputs.append((role, path)) }
    }

    mutating func output(_ role: String, _ path: String?) {
        if let path { outputs.append((role, path)) }
    }

    struct Clash: Error, CustomStringConvertible {
        let description: String
    }

    func check() throws {
        let inputIDs = inputs.map { Self.identity($0.path) }
        let outputIDs = outputs.map { $0.path == "-" ? .standardOutput : Self.identity($0.path) }
        for (k, out) in outputs.enumerated() {
            guard let target = outputIDs[k] else { continue }
            if let i = inputIDs.firstIndex(of: target) {
                throw Clash(
                    description:
                        "\(out.role) \(out.path) is the \(inputs[i].role) (\(inputs[i].path)): refusing to write over an input")
            }
            if let j = outputIDs[..<k].firstIndex(of: target) {
                throw Clash(
                    description:
                        "\(outputs[j].role) and \(out.role) name the same file (\(outputs[j].path), \(out.path)): give each its own"
                )
            }
        }
    }

    private enum Identity: Equatable {
        case inode(dev: UInt64, ino: UInt64)
        case path(String)
        case standardOutput
    }

    /// Which file `path` names; nil for an existing file that is not a regular one.
    private static func identity(_ path: String) -> Identity? {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFREG else { return nil }
            return .inode(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
        }
        return .path(OutputFile.resolvingLinks(path))
    }
}
