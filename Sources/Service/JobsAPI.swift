import Foundation
import Hummingbird
import ServiceFiles
import VideoIO

/// Jobs over HTTP, through the spool: a submitted job is a job file written into
/// `inbox/` (hidden until complete, then renamed), so it is claimed, run, and resumed
/// after a restart exactly as a job dropped in by hand, under the same rules.
struct JobsAPI: Sendable {
    let spool: Spool
    let state: ServiceState
    let running: RunningJobs
    let maxJobBytes: @Sendable () -> Int
    /// Where URL jobs may fetch from, and whether a token guards the API.
    let urlJobs: @Sendable () -> (hosts: URLJobHosts, guarded: Bool)

    /// What every API job's id starts with.
    static let prefix = "api-"

    /// A job as the API reports it.
    struct Job: Codable, Sendable, Equatable {
        enum State: String, Codable, Sendable, CaseIterable { case queued, processing, done, failed }
        var id: String
        var state: State
        var log: String?
        var frames: Int?
        var framesPerSecond: Double?
        var error: String?
        /// In a fleet: the node that runs or ran it, and how many times it was started.
        var node: String?
        var attempts: Int?
    }

    /// A submitted job, checked: its job file's contents and its source.
    struct Prepared: Sendable {
        var job: Data
        var source: String
    }

    /// POST /api/v1/jobs: `{"source": "<path under the spool, or an http(s) URL>",
    /// "options": {"stride", "start", "end", "maxFrames", "maxSeconds"}, "analytics": {...}}`
    /// (analytics inline, or a path under the spool). 201 with the job; 400 for a body
    /// the spool would refuse.
    func submit(_ body: ByteBuffer) throws -> Job {
        let id = Self.newID()
        let prepared = try prepare(body, name: id)
        let hidden = spool.inbox + "/." + id
        // A URL's password is for the daemon alone: the job file is then its user's only.
        let mode = hasCredentials(prepared.source) ? 0o600 : 0o644
        guard FileManager.default.createFile(atPath: hidden, contents: prepared.job, attributes: [.posixPermissions: mode]),
            rename(hidden, spool.inbox + "/" + id) == 0
        else {
            try? FileManager.default.removeItem(atPath: hidden)
            throw HTTPError(.internalServerError, message: "cannot write into \(spool.inbox)")
        }
        return Job(id: id, state: .queued)
    }

    /// A job's body checked as the spool checks a job file (400 with its message); a
    /// source that is a path is under `videoRoot` (default: the spool).
    func prepare(_ body: ByteBuffer, name: String, videoRoot: String? = nil) throws -> Prepared {
        let object: [String: Any]
        do {
            object = try StrictJSON.object(Data(buffer: body))
        } catch {
            throw HTTPError(.badRequest, message: "the body \(error.reason)")
        }
        if let unknown = object.keys.sorted().first(where: { !["source", "options", "analytics"].contains($0) }) {
            throw HTTPError(.badRequest, message: "unknown field '\(unknown)'")
        }
        guard let source = object["source"] as? String, !source.isEmpty else {
            throw HTTPError(.badRequest, message: "'source' (a path under the spool, or an http(s) URL) is required")
        }
        guard let options = object["options"] as? [String: Any] ?? (object["options"] == nil ? [:] : nil) else {
            throw HTTPError(.badRequest, message: "'options' must be an object")
        }
        if let taken = options.keys.sorted().first(where: { ["video", "url", "analytics"].contains($0) }) {
            throw HTTPError(
                .badRequest,
                message: taken == "analytics"
                    ? "'analytics' goes beside 'options'" : "unknown option '\(taken)': the video is 'source'")
        }
        if source.contains("://") {
            let policy = urlJobs()
            if let why = policy.hosts.refusal(of: source, guarded: policy.guarded) {
                throw HTTPError(.badRequest, message: "'source' \(redactingCredentials(source)): \(why)")
            }
        }
        var job = options
        // Paths may hold a colon (`12:30.mp4`); a URL has "://".
        job[source.contains("://") ? "url" : "video"] = source
        job["analytics"] = object["analytics"]
        let data = try JSONSerialization.data(withJSONObject: job, options: [.sortedKeys])
        guard data.count <= maxJobBytes() else {
            throw HTTPError(.contentTooLarge, message: "the job is \(data.count) bytes; jobs are at most \(maxJobBytes())")
        }
        do {
            // The spool's own rules, messages included ("options" keys become the job's).
            _ = try JobSpec.parse(data, name: name, spool: spool, videoRoot: videoRoot)
        } catch let ServiceError.refusedJob(reason) {
            let message = ["'video'", "'url'"].reduce(redactingCredentials(reason)) {
                $0.replacingOccurrences(of: $1, with: "'source'")
            }
            throw HTTPError(.badRequest, message: message)
        }
        return Prepared(job: data, source: source)
    }

    /// Every job the spool holds, oldest state first: queued, processing, done, failed.
    func list() -> [Job] {
        Job.State.allCases.flatMap { state in names(in: state).map { describe($0, state) } }
    }

    /// The job `id`, looked up in the spool's folders; nil when there is none.
    func job(_ id: String) -> Job? {
        // A job's error report and a file still being written are not jobs.
        guard !id.contains("/"), !id.hasPrefix("."), !id.hasSuffix(".error.json"), !id.hasSuffix(".part") else { return nil }
        return Job.State.allCases.first { FileManager.default.fileExists(atPath: folder($0) + "/" + id) }
            .map { describe(id, $0) }
    }

    /// How many jobs are in each state (no file read but the folders).
    func counts() -> [Job.State: Int] {
        Dictionary(uniqueKeysWithValues: Job.State.allCases.map { ($0, names(in: $0).count) })
    }

    private func folder(_ state: Job.State) -> String {
        switch state {
        case .queued: spool.inbox
        case .processing: spool.processing
        case .done: spool.done
        case .failed: spool.failed
        }
    }

    /// The jobs' names in a state's folder: not hidden, not still being written, not an
    /// error report.
    private func names(in state: Job.State) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder(state))) ?? []).sorted()
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix(".part") && !$0.hasSuffix(".error.json") }
    }

    private func describe(_ name: String, _ jobState: Job.State) -> Job {
        var job = Job(id: name, state: jobState)
        if jobState != .queued { job.log = spool.logPath(name) }
        if jobState == .processing, let progress = state.snapshot.jobs.first(where: { $0.name == name }) {
            job.frames = progress.frames
            job.framesPerSecond = progress.framesPerSecond
        }
        if jobState == .failed { job.error = Self.error(of: name, in: spool.failed) }
        return job
    }

    /// DELETE /api/v1/jobs/{id}: a queued job goes to `failed/` at once; a running one
    /// is asked to stop after its current frame (its log ends `interrupted`) and then
    /// goes there. The job as it stands afterwards; nil when there is no such job.
    func cancel(_ id: String) throws -> Job? {
        guard let found = job(id) else { return nil }
        switch found.state {
        case .done, .failed:
            throw HTTPError(.conflict, message: "job \(id) has already ended (\(found.state.rawValue))")
        case .processing where running.cancel(id):
            spool.markCancelled(id)
            return found
        case .queued, .processing:
            // Not running (yet): taken out of the spool's hands. A worker that claims it
            // meanwhile finds it gone, or runs it to its cancellation above.
            spool.fail(id, from: folder(found.state), error: JobRunner.cancelled)
            return job(id) ?? found
        }
    }

    private static func error(of name: String, in dir: String) -> String? {
        guard let data = FileManager.default.contents(atPath: dir + "/" + name + ".error.json"),
            let report = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return nil }
        return report["error"] as? String
    }

    /// `api-<UTC time>-<random>.json`: sorts by submission, never collides.
    private static func newID() -> String {
        let random = (0..<4).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
        return "\(prefix)\(basicUTCTimestamp())-\(random).json"
    }
}
