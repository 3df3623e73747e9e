import Foundation
import Pipeline

/// A claimed job: a video dropped into `inbox/`, or a small job file
/// `<name>.json` naming a video under the spool and per-job options:
///
///     {"video": "media/cam1-2026-11-29.mp4", "stride": 2, "start": 10, "end": 70}
///
/// A job file is refused when it is too large, not a JSON object, has an unknown
/// field, or names a video outside the spool (an absolute path, `..`, or a link
/// that leads out); links dropped into `inbox/` are refused, never followed.
public struct JobSpec: Sendable, Equatable {
    public var name: String
    /// The video to track.
    public var video: String
    public var stride = 1
    public var start: Double?
    public var end: Double?

    public var selection: FrameSelection { FrameSelection(stride: stride, start: start, end: end) }

    /// Reads `processing/<name>`.
    public static func load(_ name: String, spool: Spool, maxJobBytes: Int) throws -> JobSpec {
        let path = spool.processing + "/" + name
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ServiceError.refusedJob("\(name) disappeared") }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: throw ServiceError.refusedJob("\(name) is a symbolic link; links are not followed")
        default: throw ServiceError.refusedJob("\(name) is not a regular file")
        }
        guard name.lowercased().hasSuffix(".json") else { return JobSpec(name: name, video: path) }

        guard st.st_size <= maxJobBytes else {
            throw ServiceError.refusedJob("\(name) is \(st.st_size) bytes; job files are at most \(maxJobBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ServiceError.refusedJob("\(name) disappeared") }
        return try parse(data, name: name, spool: spool)
    }

    /// Reads a job file's contents (a JSON object; `name` for messages).
    @_spi(Fuzzing) public static func parse(_ data: Data, name: String, spool: Spool) throws -> JobSpec {
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ServiceError.refusedJob("\(name) is not a JSON object")
        }
        if let unknown = object.keys.sorted().first(where: { !["video", "stride", "start", "end"].contains($0) }) {
            throw ServiceError.refusedJob("\(name): unknown field '\(unknown)'")
        }
        guard let video = object["video"] as? String, !video.isEmpty else {
            throw ServiceError.refusedJob("\(name): 'video' (a path under the spool) is required")
        }
        var spec = JobSpec(name: name, video: try resolve(video, in: spool, job: name))
        if let v = object["stride"] {
            guard let n = v as? Int, n >= 1 else {
                throw ServiceError.refusedJob("\(name): 'stride' must be a whole number >= 1")
            }
            spec.stride = n
        }
        for key in ["start", "end"] {
            guard let v = object[key] else { continue }
            guard let n = (v as? NSNumber)?.doubleValue, n >= 0, n.isFinite else {
                throw ServiceError.refusedJob("\(name): '\(key)' must be a number of seconds >= 0")
            }
            if key == "start" { spec.start = n } else { spec.end = n }
        }
        // As `trackd track` refuses --end before --start: it would track nothing.
        if let start = spec.start, let end = spec.end, end < start {
            throw ServiceError.refusedJob("\(name): 'end' (\(end) s) must not be before 'start' (\(start) s)")
        }
        return spec
    }

    /// The absolute path with every link resolved, if it exists.
    private static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A path relative to the spool that stays inside it, links resolved.
    private static func resolve(_ video: String, in spool: Spool, job: String) throws -> String {
        guard !video.hasPrefix("/"), !video.split(separator: "/").contains("..") else {
            throw ServiceError.refusedJob("\(job): 'video' must be a path under the spool, without '..': \(video)")
        }
        guard let root = canonical(spool.root) else {
            throw ServiceError.refusedJob("\(job): the spool cannot be resolved")
        }
        guard let real = canonical(spool.root + "/" + video) else {
            throw ServiceError.refusedJob("\(job): no such video under the spool: \(video)")
        }
        guard real.hasPrefix(root + "/") else {
            throw ServiceError.refusedJob("\(job): '\(video)' leads outside the spool")
        }
        // A FIFO or a device would block the worker on open or read, for good.
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw ServiceError.refusedJob("\(job): '\(video)' is not a regular file")
        }
        return real
    }
}
