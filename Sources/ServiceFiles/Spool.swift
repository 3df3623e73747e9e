import Foundation

/// The spool directory: work arrives in `inbox/`, is claimed into `processing/` by an
/// atomic rename, and ends in `done/` or `failed/` (with `<name>.error.json` beside
/// it); logs go to `logs/<name>.jsonl`. Videos that job files name live in `media/`.
/// A claim gives the job a name no other job has had, so that no job's log is ever
/// replaced by another's.
///
/// Files still being written are not claimed: a name ending in `.part` or starting
/// with `.` is skipped (write as `x.mp4.part`, rename to `x.mp4` when done), and any
/// other file is claimed only once its size and modification time have stayed the
/// same for `stableSeconds`. Symbolic links and anything but regular files are
/// refused, never followed.
public final class Spool: @unchecked Sendable {
    public let root: String
    public let inbox, processing, done, failed, logs, media: String
    private var seen: [String: (size: Int64, modified: Double, since: Double)] = [:]

    public init(root: String) throws {
        self.root = root
        inbox = root + "/inbox"
        processing = root + "/processing"
        done = root + "/done"
        failed = root + "/failed"
        logs = root + "/logs"
        media = root + "/media"
        for dir in [root, inbox, processing, done, failed, logs, media] {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw ServiceError.spool("cannot create \(dir): \((error as NSError).localizedDescription)")
            }
            guard access(dir, W_OK) == 0 else { throw ServiceError.spool("\(dir) is not writable") }
        }
    }

    /// Names in `inbox/` ready to be claimed, oldest first (then by name).
    public func ready(stableSeconds: Double, now: Double = Date().timeIntervalSince1970) -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? [])
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".part") }
        var ready: [(String, Double)] = []
        var current: [String: (Int64, Double, Double)] = [:]
        for name in names {
            var st = stat()
            guard lstat(inbox + "/" + name, &st) == 0 else { continue }
            let size = Int64(st.st_size)
            let modified = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            let since = seen[name].flatMap { $0.size == size && $0.modified == modified ? $0.since : nil } ?? now
            current[name] = (size, modified, since)
            // A link or a directory is handed over at once: it is refused, not waited for.
            let regular = st.st_mode & S_IFMT == S_IFREG
            if !regular || now - since >= stableSeconds { ready.append((name, modified)) }
        }
        seen = current.mapValues { (size: $0.0, modified: $0.1, since: $0.2) }
        return ready.sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }.map(\.0)
    }

    /// Moves `inbox/name` into `processing/` under a name no other job has used —
    /// no job in `processing/`, `done/` or `failed/` with that stem, and no log of it —
    /// and returns it: the job's name from then on (its log, its place in `done/` or
    /// `failed/`). A second `dup.mp4` becomes `dup-2.mp4`; `cam.json` after `cam.mp4`,
    /// `cam-2.json`. Stems, not names, are compared: `q.mp4` and `q.json` claimed in one
    /// poll would otherwise both log to `q.jsonl` before either log exists. nil if the
    /// file is gone (someone else took it).
    public func claim(_ name: String) -> String? {
        let stems = Set(
            [processing, done, failed].flatMap { (try? FileManager.default.contentsOfDirectory(atPath: $0)) ?? [] }
                .map(Spool.stem))
        var claimed = name
        for k in 2... {
            if !stems.contains(Spool.stem(claimed)), !entryExists(logPath(claimed)) { break }
            claimed = Spool.stem(name) + "-\(k)" + Spool.suffix(name)
        }
        guard rename(inbox + "/" + name, processing + "/" + claimed) == 0 else { return nil }
        seen[name] = nil
        return claimed
    }

    /// Jobs a previous run left in `processing/` (a crash, or a stop mid-job).
    public func leftInProcessing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: processing)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The job's log path, `logs/<job>.jsonl`.
    public func logPath(_ job: String) -> String { logs + "/" + Spool.stem(job) + ".jsonl" }

    /// Keeps a log left by an interrupted run under a new name, so the rerun neither
    /// overwrites nor appends to it: `logs/<job>.interrupted-<n>.jsonl`.
    public func keepPartialLog(_ job: String) -> String? {
        let path = logPath(job)
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        for n in 1... {
            let kept = logs + "/" + Spool.stem(job) + ".interrupted-\(n).jsonl"
            if !FileManager.default.fileExists(atPath: kept) {
                return rename(path, kept) == 0 ? kept : nil
            }
        }
        return nil
    }

    /// Records that a running job was cancelled (`processing/.<job>.cancelled`), so
    /// that a restart before it reaches `failed/` does not run it again.
    public func markCancelled(_ job: String) {
        _ = FileManager.default.createFile(atPath: cancelMark(job), contents: nil)
    }

    public func isMarkedCancelled(_ job: String) -> Bool { entryExists(cancelMark(job)) }

    private func cancelMark(_ job: String) -> String { processing + "/." + job + ".cancelled" }

    /// Moves a finished job to `done/`.
    public func complete(_ job: String) {
        move(job, to: done)
        unlink(cancelMark(job))
    }

    /// Moves a job to `failed/` with `<name>.error.json` beside it, as private as the
    /// job's own file (a job file holding a password is its user's only).
    public func fail(_ job: String, from dir: String? = nil, error: String) {
        let name = move(job, from: dir ?? processing, to: failed)
        unlink(cancelMark(job))
        let report: [String: Any] = [
            "job": job, "error": error, "time": ISO8601DateFormatter().string(from: Date())
        ]
        var st = stat()
        let mode = lstat(failed + "/" + name, &st) == 0 ? Int(st.st_mode & 0o666) : 0o600
        if let data = try? JSONSerialization.data(withJSONObject: report, options: [.sortedKeys]) {
            // Best effort: the caller has logged the error already.
            _ = FileManager.default.createFile(
                atPath: failed + "/" + name + ".error.json", contents: data + Data("\n".utf8),
                attributes: [.posixPermissions: mode])
        }
    }

    /// Renames within the spool, never replacing a file already there.
    @discardableResult
    private func move(_ job: String, from dir: String? = nil, to target: String) -> String {
        var name = job
        var k = 1
        while entryExists(target + "/" + name) {
            k += 1
            name = Spool.stem(job) + "-\(k)" + Spool.suffix(job)
        }
        rename((dir ?? processing) + "/" + job, target + "/" + name)
        return name
    }

    /// Whether anything is there, a dangling link included.
    private func entryExists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// The name without its last extension.
    static func stem(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    static func suffix(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return "" }
        return String(name[dot...])
    }
}

public enum ServiceError: Error, Sendable, CustomStringConvertible {
    case spool(String)
    case refusedJob(String)
    /// The fleet's database refused or could not be reached.
    case fleet(String)

    public var description: String {
        switch self {
        case .spool(let message): "spool: \(message)"
        case .refusedJob(let message): "job refused: \(message)"
        case .fleet(let message): "fleet: \(message)"
        }
    }
}
