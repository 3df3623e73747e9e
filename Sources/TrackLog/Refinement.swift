import Foundation

/// Offline refinement of a finished log's frames, as they stream past: a track unseen
/// for a few frames and then seen again gets boxes interpolated linearly in time
/// between its two observations (ByteTrack's interpolation), state `interpolated`,
/// score the lower of the two. Only gaps between two observations of one id are
/// filled — nothing is invented before a track's first box or after its last — and
/// only gaps of at most `maxGap` seconds.
///
/// Frames come out in order, each once no later observation can reach back into it
/// (it is more than `maxGap` older than the newest frame), so memory holds only the
/// last `maxGap` seconds of frames.
public struct GapFiller {
    public let maxGap: Double
    /// Frames not yet handed out, oldest first.
    private var pending: [LogFrame] = []
    /// Each live id's latest observation.
    private var last: [Int: (frame: Int, time: Double, track: LogTrack)] = [:]

    public init(maxGap: Double) {
        self.maxGap = maxGap
    }

    /// Takes the next frame of the log; returns the frames that are complete.
    public mutating func add(_ frame: LogFrame) -> [LogFrame] {
        for t in frame.tracks where t.box.count == 4 {
            if let previous = last[t.id], frame.frame - previous.frame > 1, frame.time - previous.time <= maxGap {
                fill(from: previous, to: (frame.frame, frame.time, t))
            }
            last[t.id] = (frame.frame, frame.time, t)
        }
        pending.append(frame)
        last = last.filter { frame.time - $0.value.time <= maxGap }
        let ready = pending.prefix { frame.time - $0.time > maxGap }
        pending.removeFirst(ready.count)
        return Array(ready)
    }

    /// The frames still held, at the end of the log.
    public mutating func finish() -> [LogFrame] {
        defer { pending = [] }
        return pending
    }

    private mutating func fill(
        from a: (frame: Int, time: Double, track: LogTrack), to b: (frame: Int, time: Double, track: LogTrack)
    ) {
        for k in pending.indices where pending[k].frame > a.frame && pending[k].frame < b.frame {
            let f = (pending[k].time - a.time) / (b.time - a.time)
            let box = zip(a.track.box, b.track.box).map { (($0 + ($1 - $0) * f) * 100).rounded() / 100 }
            pending[k].tracks.append(
                LogTrack(
                    id: b.track.id, class: b.track.class, classId: b.track.classId,
                    score: min(a.track.score, b.track.score), box: box, state: "interpolated"))
        }
    }
}

/// Smooths each track's boxes in time: every box becomes the Gaussian-weighted mean
/// (standard deviation `sigma` seconds, out to 3 `sigma`) of the same track's boxes
/// around it, the box itself included, as StrongSORT's GSI smooths its tracks. Only
/// boxes move; none is added or dropped. Frames come out in order, each once the
/// frames 3 `sigma` after it have been read.
public struct BoxSmoother {
    public let sigma: Double
    private var reach: Double { 3 * sigma }
    /// Frames still needed: those not yet handed out, and the ones before them that
    /// are within reach.
    private var frames: [LogFrame] = []
    private var next = 0

    public init(sigma: Double) {
        precondition(sigma > 0)
        self.sigma = sigma
    }

    public mutating func add(_ frame: LogFrame) -> [LogFrame] {
        frames.append(frame)
        var ready: [LogFrame] = []
        while next < frames.count, frame.time - frames[next].time > reach {
            ready.append(smoothed(next))
            next += 1
        }
        let oldestNeeded = next < frames.count ? frames[next].time : frame.time
        let done = frames.prefix(next).prefix { oldestNeeded - $0.time > reach }.count
        frames.removeFirst(done)
        next -= done
        return ready
    }

    public mutating func finish() -> [LogFrame] {
        defer {
            frames = []
            next = 0
        }
        return (next..<frames.count).map(smoothed)
    }

    private func smoothed(_ k: Int) -> LogFrame {
        var frame = frames[k]
        for j in frame.tracks.indices where frame.tracks[j].box.count == 4 {
            var sum = [0.0, 0, 0, 0]
            var weights = 0.0
            for other in frames where abs(other.time - frame.time) <= reach {
                guard let box = other.tracks.first(where: { $0.id == frame.tracks[j].id })?.box, box.count == 4 else { continue }
                let d = (other.time - frame.time) / sigma
                let w = exp(-0.5 * d * d)
                for c in 0..<4 { sum[c] += w * box[c] }
                weights += w
            }
            frame.tracks[j].box = sum.map { ($0 / weights * 100).rounded() / 100 }
        }
        return frame
    }
}

/// Offline refinement, a stream of frames in and out: gaps filled (`GapFiller`),
/// then boxes smoothed (`BoxSmoother`, unless `sigma` is 0).
public struct Refiner {
    private var filler: GapFiller
    private var smoother: BoxSmoother?

    /// `sigma`: the smoothing's standard deviation in seconds; 0: no smoothing.
    public init(maxGap: Double, sigma: Double) {
        filler = GapFiller(maxGap: maxGap)
        smoother = sigma > 0 ? BoxSmoother(sigma: sigma) : nil
    }

    public mutating func add(_ frame: LogFrame) -> [LogFrame] {
        smooth(filler.add(frame))
    }

    public mutating func finish() -> [LogFrame] {
        var out = smooth(filler.finish())
        if var s = smoother {
            out += s.finish()
            smoother = s
        }
        return out
    }

    private mutating func smooth(_ frames: [LogFrame]) -> [LogFrame] {
        guard var s = smoother else { return frames }
        defer { smoother = s }
        return frames.flatMap { s.add($0) }
    }
}
