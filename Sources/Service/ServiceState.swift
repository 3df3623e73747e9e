import Foundation
import Pipeline
import TrackLog
import VideoIO

/// What the daemon is doing, shared by its workers and written to the status file
/// (`trackd status` reads it) and to systemd's `STATUS=`.
public final class ServiceState: Sendable {
    public struct Job: Codable, Sendable, Equatable {
        public var name: String
        /// Its track log (absent from status files written by older daemons).
        public var log: String?
        public var frames = 0
        public var framesPerSecond = 0.0
        public var started: String
    }

    public enum StreamState: String, Codable, Sendable {
        case connecting, tracking
        /// Connected, but the source has sent no frame for `silentAfter` seconds.
        case silent
        case retrying, stopped
    }

    public struct Stream: Codable, Sendable, Equatable {
        public var name: String
        public var state = StreamState.connecting
        /// Seconds since the last frame, while `silent`.
        public var silentSeconds: Int?
        public var frames = 0
        public var droppedFrames = 0
        public var framesPerSecond = 0.0
        /// Tracks in the latest frame.
        public var tracks = 0
        public var reconnects = 0
        public var log: String?
        public var lastError: String?
        /// With analytics: the events since the service started, added up.
        public var analytics: EventTotals?
        /// With zones: tracks in each zone now, by class.
        public var occupancy: [String: [String: Int]]?
    }

    /// Where events go (an MQTT broker, a webhook): whether it takes them, and what
    /// waits for it. A webhook is `connecting` until its first answer.
    public struct Receiver: Codable, Sendable, Equatable {
        public enum State: String, Codable, Sendable {
            case connecting, connected, retrying, stopped
        }

        public var name: String
        public var state = State.connecting
        /// Why it last failed, while `retrying`.
        public var lastError: String?
        /// Events in its outbox, not yet acknowledged.
        public var pending = 0
        public var delivered = 0
        /// Events dropped because its outbox reached its bound.
        public var dropped = 0
        /// Events the receiver refused for good (a webhook's 4xx other than 408 and
        /// 429); absent for an MQTT broker.
        public var rejected: Int?
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
        /// Where the HTTP API listens, once it does.
        public var http: String?
        /// Event receivers (absent from status files of daemons without any).
        public var receivers: [Receiver]?
        /// This node of a fleet (absent without one).
        public var fleet: FleetNode?
    }

    /// This daemon as a node of a fleet.
    public struct FleetNode: Codable, Sendable, Equatable {
        public var node: String
        /// Raised each time the name registers: what this process holds is fenced by it.
        public var generation: Int64
        /// Whether the last exchange with the database succeeded.
        public var databaseReachable = true
        /// Why it last failed, while it fails.
        public var lastError: String?
        /// Jobs queued in the fleet at the last look.
        public var queuedJobs = 0
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

    private let clock: @Sendable () -> Double
    private let started = ISO8601DateFormatter().string(from: Date())
    private let store = Locked(Store())

    private struct Store {
        var jobs: [String: Job] = [:]
        var streams: [String: Stream] = [:]
        var completed = 0
        var failed = 0
        var errors: [String] = []
        var http: String?
        var receivers: [String: Receiver] = [:]
        var fleet: FleetNode?
        /// For each running job, when it last advanced; for each stream, since when it
        /// has held a frame it has not finished (nil while it waits on its source). The
        /// watchdog measures these: trackd's own work, never a source's silence.
        var working = [String: Double]()
        /// When each stream last delivered a frame, or connected.
        var lastFrame = [String: Double]()

        mutating func appendError(_ message: String) {
            errors.append(message)
            if errors.count > 20 { errors.removeFirst(errors.count - 20) }
        }
    }

    /// `clock` gives seconds on a monotonic clock (given in tests).
    public init(clock: @escaping @Sendable () -> Double = monotonicSeconds) {
        self.clock = clock
    }

    func jobStarted(_ name: String, log: String) {
        let now = clock()
        store.withLock {
            $0.jobs[name] = Job(name: name, log: log, started: ISO8601DateFormatter().string(from: Date()))
            $0.working["job " + name] = now
        }
    }

    func jobProgress(_ name: String, frames: Int, fps: Double) {
        let now = clock()
        store.withLock {
            $0.jobs[name]?.frames = frames
            $0.jobs[name]?.framesPerSecond = (fps * 10).rounded() / 10
            $0.working["job " + name] = now
        }
    }

    enum JobOutcome {
        case done
        case failed(String)
        case stopped
        case cancelled
    }

    func jobEnded(_ name: String, _ outcome: JobOutcome) {
        store.withLock {
            $0.jobs[name] = nil
            $0.working["job " + name] = nil
            switch outcome {
            case .done: $0.completed += 1
            case .failed(let reason):
                $0.failed += 1
                $0.appendError(reason.hasPrefix(name) || reason.contains(name + ":") ? reason : "\(name): \(reason)")
            case .stopped, .cancelled: break
            }
        }
    }

    func update(receiver name: String, _ change: (inout Receiver) -> Void) {
        store.withLock {
            var r = $0.receivers[name] ?? Receiver(name: name)
            change(&r)
            $0.receivers[name] = r
        }
    }

    /// A receiver's failure, once, among the latest errors.
    func receiverFailed(_ name: String, _ message: String) {
        store.withLock {
            let line = "\(name): \(message)"
            if $0.errors.last != line { $0.appendError(line) }
            $0.receivers[name, default: Receiver(name: name)].lastError = message
        }
    }

    func update(fleet change: (inout FleetNode?) -> Void) {
        store.withLock { change(&$0.fleet) }
    }

    /// The fleet's database failing, once among the latest errors per message.
    func fleetFailed(_ message: String) {
        store.withLock {
            $0.fleet?.databaseReachable = false
            if $0.fleet?.lastError != message { $0.appendError("fleet: " + message) }
            $0.fleet?.lastError = message
        }
    }

    func httpListening(on address: String) {
        store.withLock { $0.http = address }
    }

    /// A stream has taken a frame from its source: until the frame is logged (its
    /// `frames` grows) the wait is on trackd.
    func streamTookFrame(_ name: String) {
        let now = clock()
        store.withLock {
            if $0.working["stream " + name] == nil { $0.working["stream " + name] = now }
        }
    }

    func update(stream name: String, _ change: (inout Stream) -> Void) {
        let now = clock()
        store.withLock {
            var s = $0.streams[name] ?? Stream(name: name)
            let before = s
            change(&s)
            $0.streams[name] = s
            if s.frames != before.frames || (s.state == .tracking && before.state != .tracking) {
                $0.lastFrame[name] = now
            }
            if s.frames != before.frames || s.state != .tracking {
                $0.working["stream " + name] = nil
            }
        }
    }

    /// A stream this daemon no longer tracks (a fleet's, now another node's).
    func remove(stream name: String) {
        store.withLock {
            $0.streams[name] = nil
            $0.lastFrame[name] = nil
            $0.working["stream " + name] = nil
        }
    }

    /// The job or stream that has gone longest without progress of its own, if any.
    public var stall: Stall? {
        let now = clock()
        return store.withLock {
            $0.working.min { ($0.value, $0.key) < ($1.value, $1.key) }.map { Stall(who: $0.key, seconds: now - $0.value) }
        }
    }

    public var snapshot: Snapshot {
        let now = clock()
        return store.withLock { store in
            let reported = store.streams.values.sorted { $0.name < $1.name }.map { stream -> Stream in
                var s = stream
                let quiet = now - (store.lastFrame[s.name] ?? now)
                if s.state == .tracking, store.working["stream " + s.name] == nil, quiet >= Self.silentAfter {
                    s.state = .silent
                    s.silentSeconds = Int(quiet)
                    s.framesPerSecond = 0
                }
                return s
            }
            return Snapshot(
                pid: getpid(), started: started, updated: ISO8601DateFormatter().string(from: Date()),
                jobs: store.jobs.values.sorted { $0.name < $1.name }, streams: reported,
                completedJobs: store.completed, failedJobs: store.failed, errors: store.errors, http: store.http,
                receivers: store.receivers.isEmpty ? nil : store.receivers.values.sorted { $0.name < $1.name },
                fleet: store.fleet)
        }
    }

    /// One line for systemd's STATUS=.
    var summary: String {
        let s = snapshot
        let fps = s.jobs.map(\.framesPerSecond).reduce(0, +) + s.streams.map(\.framesPerSecond).reduce(0, +)
        let live = s.streams.filter { $0.state == .tracking }.count
        let silent = s.streams.filter { $0.state == .silent }.count
        return "\(s.jobs.count) jobs running, \(s.completedJobs) done, \(s.failedJobs) failed; "
            + "\(live)/\(s.streams.count) streams tracking\(silent > 0 ? ", \(silent) silent" : ""); "
            + "\(String(format: "%.1f", fps)) fps"
    }
}
