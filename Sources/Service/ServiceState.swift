import Foundation

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
        /// `connecting`, `tracking`, `retrying` or `stopped`.
        public var state = "connecting"
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

    private let lock = NSLock()
    private let started = ISO8601DateFormatter().string(from: Date())
    private var jobs: [String: Job] = [:]
    private var streams: [String: Stream] = [:]
    private var completed = 0
    private var failedCount = 0
    private var errors: [String] = []
    /// Frames processed by everything, ever: the watchdog feeds on its growth.
    private(set) var progress = 0
    private var lastProgress = [String: Double]()

    public init() {}

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    func jobStarted(_ name: String, log: String) {
        locked {
            jobs[name] = Job(name: name, log: log, started: ISO8601DateFormatter().string(from: Date()))
            lastProgress[name] = monotonic()
        }
    }

    func jobProgress(_ name: String, frames: Int, fps: Double) {
        locked {
            jobs[name]?.frames = frames
            jobs[name]?.framesPerSecond = (fps * 10).rounded() / 10
            progress += 1
            lastProgress[name] = monotonic()
        }
    }

    enum JobOutcome { case done, failed(String), stopped }

    func jobEnded(_ name: String, _ outcome: JobOutcome) {
        locked {
            jobs[name] = nil
            lastProgress[name] = nil
            switch outcome {
            case .done: completed += 1
            case .failed(let reason):
                failedCount += 1
                appendError(reason.hasPrefix(name) || reason.contains(name + ":") ? reason : "\(name): \(reason)")
            case .stopped: break
            }
        }
    }

    func update(stream name: String, _ change: (inout Stream) -> Void) {
        locked {
            var s = streams[name] ?? Stream(name: name)
            let before = s.frames
            change(&s)
            streams[name] = s
            if s.frames != before {
                progress += 1
                lastProgress["stream:" + name] = monotonic()
            } else if s.state != "tracking" {
                // Waiting for a stream to come back is not a stall.
                lastProgress["stream:" + name] = nil
            } else if lastProgress["stream:" + name] == nil {
                lastProgress["stream:" + name] = monotonic()
            }
        }
    }

    private func appendError(_ message: String) {
        errors.append(message)
        if errors.count > 20 { errors.removeFirst(errors.count - 20) }
    }

    /// The longest any running job or tracking stream has gone without a frame.
    var longestStall: Double {
        locked {
            let now = monotonic()
            return lastProgress.values.map { now - $0 }.max() ?? 0
        }
    }

    public var snapshot: Snapshot {
        locked {
            Snapshot(pid: getpid(), started: started, updated: ISO8601DateFormatter().string(from: Date()),
                     jobs: jobs.values.sorted { $0.name < $1.name }, streams: streams.values.sorted { $0.name < $1.name },
                     completedJobs: completed, failedJobs: failedCount, errors: errors)
        }
    }

    /// One line for systemd's STATUS=.
    var summary: String {
        let s = snapshot
        let fps = s.jobs.map(\.framesPerSecond).reduce(0, +) + s.streams.map(\.framesPerSecond).reduce(0, +)
        let live = s.streams.filter { $0.state == "tracking" }.count
        return "\(s.jobs.count) jobs running, \(s.completedJobs) done, \(s.failedJobs) failed; "
            + "\(live)/\(s.streams.count) streams tracking; \(String(format: "%.1f", fps)) fps"
    }

    private func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
