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

    private mutating func fill(from a: (frame: Int, time: Double, track: LogTrack), to b: (frame: Int, time: Double, track: LogTrack)) {
        for k in pending.indices where pending[k].frame > a.frame && pending[k].frame < b.frame {
            let f = (pending[k].time - a.time) / (b.time - a.time)
            let box = zip(a.track.box, b.track.box).map { (($0 + ($1 - $0) * f) * 100).rounded() / 100 }
            pending[k].tracks.append(LogTrack(id: b.track.id, class: b.track.class, classId: b.track.classId,
                                              score: min(a.track.score, b.track.score), box: box, state: "interpolated"))
        }
    }
}
