import Foundation
import Pipeline
import VideoIO

/// What the daemon is doing, shared by its workers and written to the status file
/// (`trackd status` reads it) and to systemd's `STATUS=`.
public final class ServiceState: @unchecked Sendable {
    public struct Job: Codable, Sendable, Equatable {
        public var name: String
        /// Its track log (absent from status files written by older daemons).
        public var log: String?
        public var frames = 0
        public var framesPerSecond = 0.0
        public var started: String
    }

    public struct Stream: Codable, Sendable, Equatable {
        public var name: String
        /// `connecting`, `tracking`, `silent` (connected, but the source has sent no
        /// frame for `silentAfter` seconds), `retrying` or `stopped`.
        public var state = "connecting"
        /// Seconds since the last frame, while `silent`.
        public var silentSeconds: Int?
        public var frames = 0
        public var droppedFrames = 0
        public var framesPerSecond = 0.0
        public var reconnects = 0
        public var log: String?
        public var lastError: String?
    }

    public struct Snapshot: Codable, Sendable, Equatable {
        public var pid: Int32
        public var started: String
        public var updated: String
        public var jobs: [Job]
        public var streams: [Stream]
        public var completedJobs: Int
        public var failedJobs: Int
        /// The latest errors, newest last.
        public var errors: [String]
    }

    /// A connected stream that has sent no frame for this long is reported `silent`:
    /// a fact about its source, not a fault of trackd's (the network timeout, 5 s by
    /// default, usually ends the wait first and the stream reconnects).
    public static let silentAfter = 5.0

    /// Who has gone longest without progress of trackd's own, and for how long.
    public struct Stall: Equatable, Sendable {
        /// `job <name>` or `stream <name>`.
        public var who: String
        public var seconds: Double
    }

    private let lock = NSLock()
    private let clock: @Sendable () -> Double
    private let started = ISO8601DateFormatter().string(from: Date())
    private var jobs: [String: Job] = [:]
    private var streams: [String: Stream] = [:]
    private var completed = 0
    private var failedCount = 0
    private var errors: [String] = []
    /// For each running job, when it last advanced; for each stream, since when it has
    /// held a frame it has not finished (nil while it waits on its source). The
    /// watchdog measures these: trackd's own work, never a source's silence.
    private var working = [String: Double]()
    /// When each stream last delivered a frame, or connected.
    private var lastFrame = [String: Double]()

    /// `clock` gives seconds on a monotonic clock (given in tests).
    public init(clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.clock = clock
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func jobStarted(_ name: String, log: String) {
        locked {
            jobs[name] = Job(name: name, log: log, started: ISO8601DateFormatter().string(from: Date()))
            working["job " + name] = clock()
        }
    }

    func jobProgress(_ name: String, frames: Int, fps: Double) {
        locked {
            jobs[name]?.frames = frames
            jobs[name]?.framesPerSecond = (fps * 10).rounded() / 10
            working["job " + name] = clock()
        }
    }

    enum JobOutcome { case done, failed(String), stopped }

    func jobEnded(_ name: String, _ outcome: JobOutcome) {
        locked {
            jobs[name] = nil
            working["job " + name] = nil
            switch outcome {
            case .done: completed += 1
            case .failed(let reason):
                failedCount += 1
                appendError(reason.hasPrefix(name) || reason.contains(name + ":") ? reason : "\(name): \(reason)")
            case .stopped: break
            }
        }
    }

    /// A stream has taken a frame from its source: until the frame is logged (its
    /// `frames` grows) the wait is on trackd.
    func streamTookFrame(_ name: String) {
        locked {
            if working["stream " + name] == nil { working["stream " + name] = clock() }
        }
    }

    func update(stream name: String, _ change: (inout Stream) -> Void) {
        locked {
            var s = streams[name] ?? Stream(name: name)
            let before = s
            change(&s)
            streams[name] = s
            if s.frames != before.frames || (s.state == "tracking" && before.state != "tracking") {
                lastFrame[name] = clock()
            }
            if s.frames != before.frames || s.state != "tracking" {
                working["stream " + name] = nil
            }
        }
    }

    private func appendError(_ message: String) {
        errors.append(message)
        if errors.count > 20 { errors.removeFirst(errors.count - 20) }
    }

    /// The job or stream that has gone longest without progress of its own, if any.
    public var stall: Stall? {
        locked {
            let now = clock()
            return working.min { ($0.value, $0.key) < ($1.value, $1.key) }.map { Stall(who: $0.key, seconds: now - $0.value) }
        }
    }

    public var snapshot: Snapshot {
        locked {
            let now = clock()
            let reported = streams.values.sorted { $0.name < $1.name }.map { stream -> Stream in
                var s = stream
                let quiet = now - (lastFrame[s.name] ?? now)
                if s.state == "tracking", working["stream " + s.name] == nil, quiet >= Self.silentAfter {
                    s.state = "silent"
                    s.silentSeconds = Int(quiet)
                    s.framesPerSecond = 0
                }
                return s
            }
            return Snapshot(pid: getpid(), started: started, updated: ISO8601DateFormatter().string(from: Date()),
                            jobs: jobs.values.sorted { $0.name < $1.name }, streams: reported,
                            completedJobs: completed, failedJobs: failedCount, errors: errors)
        }
    }

    /// One line for systemd's STATUS=.
    var summary: String {
        let s = snapshot
        let fps = s.jobs.map(\.framesPerSecond).reduce(0, +) + s.streams.map(\.framesPerSecond).reduce(0, +)
        let live = s.streams.filter { $0.state == "tracking" }.count
        let silent = s.streams.filter { $0.state == "silent" }.count
        return "\(s.jobs.count) jobs running, \(s.completedJobs) done, \(s.failedJobs) failed; "
            + "\(live)/\(s.streams.count) streams tracking\(silent > 0 ? ", \(silent) silent" : ""); "
            + "\(String(format: "%.1f", fps)) fps"
    }
}
