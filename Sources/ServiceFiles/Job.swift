import Analytics
import Foundation
import Pipeline

/// A claimed job: a video dropped into `inbox/`, or a small job file
/// `<name>.json` naming a video under the spool, or a recording's http(s) URL, and
/// per-job options:
///
///     {"video": "media/cam1-2026-11-29.mp4", "stride": 2, "start": 10, "end": 70}
///     {"url": "https://nas.example/recordings/cam1.mp4"}
///
/// A job file is refused when it is too large, not a JSON object, has an unknown
/// field, names a video outside the spool (an absolute path, `..`, or a link that
/// leads out) or a URL of another scheme (FFmpeg's `file:`, `concat:` and the like
/// would reach outside the spool; live sources are streams, and never end); links
/// dropped into `inbox/` are refused, never followed.
public struct JobSpec: Sendable, Equatable {
    public var name: String
    /// The video to track: a resolved path under the spool, or an http(s) URL.
    public var source: String
    public var stride = 1
    public var start: Double?
    public var end: Double?
    /// Frames to track at most, and seconds to work at most: a recording served
    /// without end (a URL) stops there, `done`.
    public var maxFrames: Int?
    public var maxSeconds: Double?
    /// Lines, zones and speed to count.
    public var analytics: AnalyticsConfig?

    public var selection: FrameSelection {
        FrameSelection(stride: stride, start: start, end: end, maxFrames: maxFrames, maxSeconds: maxSeconds)
    }

    /// Reads `processing/<name>`; its `video` is under `videoRoot` (default: the spool).
    public static func load(_ name: String, spool: Spool, maxJobBytes: Int, videoRoot: String? = nil) throws -> JobSpec {
        let path = spool.processing + "/" + name
        var st = stat()
        guard lstat(path, &st) == 0 else { throw ServiceError.refusedJob("\(name) disappeared") }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFLNK: throw ServiceError.refusedJob("\(name) is a symbolic link; links are not followed")
        default: throw ServiceError.refusedJob("\(name) is not a regular file")
        }
        guard name.lowercased().hasSuffix(".json") else { return JobSpec(name: name, source: path) }

        guard st.st_size <= maxJobBytes else {
            throw ServiceError.refusedJob("\(name) is \(st.st_size) bytes; job files are at most \(maxJobBytes)")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ServiceError.refusedJob("\(name) disappeared") }
        return try parse(data, name: name, spool: spool, videoRoot: videoRoot)
    }

    /// Reads a job file's contents (a JSON object; `name` for messages); its `video`
    /// is under `videoRoot` (default: the spool), its analytics file under the spool.
    public static func parse(_ data: Data, name: String, spool: Spool, videoRoot: String? = nil) throws -> JobSpec {
        let object: [String: Any]
        do {
            object = try StrictJSON.object(data)
        } catch {
            throw ServiceError.refusedJob("\(name) \(error.reason)")
        }
        let known = ["video", "url", "stride", "start", "end", "maxFrames", "maxSeconds", "analytics"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw ServiceError.refusedJob("\(name): unknown field '\(unknown)'")
        }
        for key in ["video", "url"] {
            if let text = object[key] as? String,
                text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            {
                throw ServiceError.refusedJob("\(name): '\(key)' holds a control character (a NUL, a line break, ...)")
            }
        }
        let source: String
        switch (object["video"], object["url"]) {
        case (let video as String, nil) where !video.isEmpty:
            source = try resolve(
                video, in: videoRoot ?? spool.root, named: videoRoot == nil ? "the spool" : "the fleet's shared storage",
                job: name, key: "video")
        case (nil, let url as String) where !url.isEmpty: source = try recording(url, job: name)
        case (.some, .some): throw ServiceError.refusedJob("\(name): give 'video' or 'url', not both")
        default: throw ServiceError.refusedJob("\(name): 'video' (a path under the spool) or 'url' is required")
        }
        var spec = JobSpec(name: name, source: source)
        if let v = object["stride"] {
            guard let n = v as? Int, n >= 1 else {
                throw ServiceError.refusedJob("\(name): 'stride' must be a whole number >= 1")
            }
            spec.stride = n
        }
        if let v = object["maxFrames"] {
            guard let n = v as? Int, n >= 1 else {
                throw ServiceError.refusedJob("\(name): 'maxFrames' must be a whole number >= 1")
            }
            spec.maxFrames = n
        }
        if let v = object["maxSeconds"] {
            guard let n = (v as? NSNumber)?.doubleValue, n > 0, n.isFinite else {
                throw ServiceError.refusedJob("\(name): 'maxSeconds' must be a number of seconds > 0")
            }
            spec.maxSeconds = n
        }
        for key in ["start", "end"] {
            guard let v = object[key] else { continue }
            guard let n = (v as? NSNumber)?.doubleValue, n >= 0, n.isFinite else {
                throw ServiceError.refusedJob("\(name): '\(key)' must be a number of seconds >= 0")
            }
            if key == "start" { spec.start = n } else { spec.end = n }
        }
        switch object["analytics"] {
        case nil: break
        case let path as String:
            // A file under the spool, as a video is.
            let file = try resolve(path, in: spool.root, named: "the spool", job: name, key: "analytics")
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ServiceError.refusedJob("\(name): cannot read the analytics file \(path)")
            }
            do {
                spec.analytics = try AnalyticsConfig(object: try StrictJSON.object(data))
            } catch let error as StrictJSON.Refusal {
                throw ServiceError.refusedJob("\(name): the analytics file \(path) \(error.reason)")
            } catch let error as AnalyticsConfig.ReadError {
                throw ServiceError.refusedJob("\(name): \(path): \(error)")
            }
        case let given?:
            do {
                spec.analytics = try AnalyticsConfig(object: given)
            } catch {
                throw ServiceError.refusedJob("\(name): analytics" + (error.key.isEmpty ? ": " : ".") + "\(error)")
            }
        }
        // As `trackd track` refuses --end before --start: it would track nothing.
        if let start = spec.start, let end = spec.end, end < start {
            throw ServiceError.refusedJob("\(name): 'end' (\(end) s) must not be before 'start' (\(start) s)")
        }
        return spec
    }

    /// An http(s) URL with a host: a recording a web server hands out whole.
    private static func recording(_ url: String, job: String) throws -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased() else {
            throw ServiceError.refusedJob("\(job): 'url' is not a URL: \(url)")
        }
        guard scheme == "http" || scheme == "https" else {
            throw ServiceError.refusedJob(
                "\(job): 'url' must be an http:// or https:// address of a recording, not \(scheme):; live sources are tracked as streams"
            )
        }
        guard let host = parts.host, !host.isEmpty else { throw ServiceError.refusedJob("\(job): 'url' has no host: \(url)") }
        // FFmpeg's protocol names are lower case: `HTTP://` would pass here and fail there.
        return scheme + url.dropFirst(scheme.count)
    }

    /// The absolute path with every link resolved, if it exists.
    private static func canonical(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A path relative to `base` (the spool, or a fleet's shared storage) that stays
    /// inside it, links resolved.
    private static func resolve(_ video: String, in base: String, named place: String, job: String, key: String) throws
        -> String
    {
        guard !video.hasPrefix("/"), !video.split(separator: "/").contains("..") else {
            throw ServiceError.refusedJob("\(job): '\(key)' must be a path under \(place), without '..': \(video)")
        }
        guard let root = canonical(base) else {
            throw ServiceError.refusedJob("\(job): \(place) (\(base)) cannot be resolved")
        }
        guard let real = canonical(base + "/" + video) else {
            throw ServiceError.refusedJob("\(job): no such \(key == "video" ? "video" : "file") under \(place): \(video)")
        }
        guard real.hasPrefix(root + "/") else {
            throw ServiceError.refusedJob("\(job): '\(video)' leads outside \(place)")
        }
        // A FIFO or a device would block the worker on open or read, for good.
        var st = stat()
        guard stat(real, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw ServiceError.refusedJob("\(job): '\(video)' is not a regular file")
        }
        return real
    }
}
