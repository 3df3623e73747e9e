import Assignment
import Geometry

/// A track as the tracker reports it for one frame.
public struct TrackedObject: Sendable, Equatable {
    /// Track identity, from 1, never reused.
    public var id: Int
    /// The filtered box at this frame's time.
    public var box: Box
    /// Score of the detection that updated the track in this frame.
    public var score: Double
    public var classID: Int
    /// Placed by its visual predictor in this frame, without a detection.
    public var followed = false
}

/// A track's life cycle.
public enum TrackState: Sendable, Equatable {
    /// Seen, but not often enough to be reported.
    case tentative
    /// Reported while it keeps being observed.
    case confirmed
    /// Confirmed earlier, unseen now; kept for `maxLostSeconds` to be found again.
    case lost
}

/// Online multi-object tracker: BYTE's two-pass association of high- and
/// low-score detections, a constant-velocity Kalman filter per track, and
/// OC-SORT's observation-centric ideas (recovery on the last observation,
/// re-update through an occlusion), with the
/// camera's motion estimated from the tracks themselves and compensated.
///
/// Pure and deterministic: no I/O, no global state; the same detections and times
/// give the same tracks. Removed tracks are dropped, so memory follows the number
/// of live tracks.
public struct Tracker: Sendable {
    public let config: TrackerConfig
    private var tracks: [Track] = []
    private var nextID = 1
    private var lastTime: Double?
    private var cameraMotion: CameraMotionEstimator
    /// Each class id's group in `config.classGroups`, nil for a class in none.
    private let groupOf: [Int?]
    /// The correlation filters' shared setup, with `config.visual`.
    private let correlation: CorrelationSetup?

    /// `classes`: the detector's class names by id, which `config.classGroups` names.
    public init(config: TrackerConfig = TrackerConfig(), classes: [String] = []) {
        self.config = config
        cameraMotion = CameraMotionEstimator(model: config.cameraMotion)
        groupOf = classes.map { name in config.classGroups.firstIndex { $0.contains(name) } }
        correlation = config.visual ? CorrelationSetup() : nil
    }

    /// Whether a detection of class `a` may continue a track of class `b`.
    private func compatible(_ a: Int, _ b: Int) -> Bool {
        guard config.perClass, a != b else { return true }
        guard a >= 0, b >= 0, a < groupOf.count, b < groupOf.count, let group = groupOf[a] else { return false }
        return groupOf[b] == group
    }

    /// Live tracks (tentative, confirmed and lost).
    public var liveTrackCount: Int { tracks.count }

    public struct TimeError: Error, Sendable, Equatable, CustomStringConvertible {
        public var previous: Double
        public var time: Double
        public var description: String { "frame time \(time) s is not after the previous frame's \(previous) s" }
    }

    /// Takes one frame's detections at `time` (seconds, increasing) and returns the
    /// confirmed tracks observed in it (with `config.visual` and the frame's `luma`,
    /// also those its visual predictors placed).
    public mutating func update(_ observations: [Observation], time: Double, luma: LumaPlane? = nil) throws
        -> [TrackedObject]
    {
        if let lastTime, !(time > lastTime) { throw TimeError(previous: lastTime, time: time) }
        let isFirstFrame = lastTime == nil
        let dt = lastTime.map { time - $0 } ?? 0
        lastTime = time

        // 1. Split detections by score; drop the weakest and any degenerate box.
        var high: [Int] = []
        var low: [Int] = []
        for (k, o) in observations.enumerated() where o.box.width > 0 && o.box.height > 0 && o.score.isFinite {
            if o.score >= config.highScore { high.append(k) } else if o.score >= config.lowScore { low.append(k) }
        }

        // 2. Predict every track to this frame's time.
        for t in tracks.indices { tracks[t].predict(to: time) }

        let established = tracks.indices.filter { tracks[$0].state != .tentative }
        let tentative = tracks.indices.filter { tracks[$0].state == .tentative }
        var matches: [(track: Int, observation: Int)] = []
        // With visual predictors: how each established track's filter responds around
        // its prediction. Association reads it at each detection's place (`looks`,
        // only where the filter is sure of its peak); a matched track remembers it, a
        // lost one may be placed by it.
        var responses: [Int: CorrelationFilter.Response] = [:]
        var looks: [Int: Look] = [:]
        if let correlation, let luma {
            for t in established {
                guard let response = tracks[t].appearance?.respond(correlation, luma, tracks[t].predicted) else { continue }
                responses[t] = response
                if Double(response.psr) >= config.visualConfidence {
                    looks[t] = Look(around: tracks[t].predicted, response: response)
                }
            }
        }

        // 3. First pass: high-score detections against confirmed and lost tracks, on
        //    IoU with the predicted box. If the matches show that the camera moved, every track is moved with the image
        //    and the pass is run again from the compensated predictions.
        var first = associate(established, high, observations, minIoU: config.matchIoU, looks: looks) { $0.predicted }
        let offsets = first.matches.map { t, k in
            (
                dx: observations[k].box.centerX - tracks[t].predicted.centerX,
                dy: observations[k].box.centerY - tracks[t].predicted.centerY
            )
        }
        let shift = cameraMotion.shift(offsets: offsets, dt: dt)
        if let shift {
            for t in tracks.indices { tracks[t].shift(dx: shift.dx, dy: shift.dy) }
            first = associate(established, high, observations, minIoU: config.matchIoU, looks: looks) { $0.predicted }
        }
        matches += first.matches

        // 4. Second pass: low-score detections extend tracks seen in the last frame.
        let recent = first.tracks.filter { tracks[$0].state == .confirmed }
        let second = associate(recent, low, observations, minIoU: config.lowScoreMatchIoU, looks: looks) { $0.predicted }
        matches += second.matches

        // 5. Recovery: the remaining tracks against the remaining high-score
        //    detections on IoU with their last observation, which does not drift
        //    while the object is unseen.
        var extended = [Bool](repeating: false, count: tracks.count)
        for (t, _) in second.matches { extended[t] = true }
        let leftover = first.tracks.filter { !extended[$0] }
        let third = associate(leftover, first.observations, observations, minIoU: config.matchIoU, looks: looks) {
            $0.lastObservation
        }
        matches += third.matches

        // 6. Tentative tracks take what high-score detections are left.
        let fourth = associate(tentative, third.observations, observations, minIoU: config.tentativeMatchIoU) { $0.predicted }
        matches += fourth.matches

        // 7. Update matched tracks (re-updating through any gap), age the others.
        var observed = [Bool](repeating: false, count: tracks.count)
        for (t, k) in matches {
            observed[t] = true
            tracks[t].observe(observations[k], at: time, confirmHits: config.confirmHits)
            if tracks[t].state == .confirmed, tracks[t].id == nil {
                tracks[t].id = nextID
                nextID += 1
            }
        }
        for t in tracks.indices where !observed[t] {
            tracks[t].miss()
        }

        // 8. Visual predictors: each matched track learns its object's look; a track
        //    confirmed before and without a detection now is placed where its filter
        //    finds the object, when the filter is sure. It still ends `maxLostSeconds`
        //    after its last detection.
        if let correlation, let luma {
            for (t, k) in matches {
                if let response = responses[t] { tracks[t].remember(response) }
                tracks[t].learn(correlation, luma, observations[k].box)
            }
            for t in tracks.indices where !observed[t] && tracks[t].state == .lost {
                // Computed before the camera's motion moved the prediction, if it did.
                let response = shift == nil ? responses[t] : nil
                tracks[t].follow(correlation, luma, response: response, confidence: config.visualConfidence, at: time)
            }
        }
        tracks.removeAll { track in
            track.state == .tentative && track.misses > 0
                || track.state == .lost && time - track.lastObservationTime > config.maxLostSeconds
        }

        // 9. New tentative tracks from confident detections nobody claimed. In the
        //    first frame there is nothing to confirm them against, so they start
        //    confirmed (as ByteTrack does): otherwise every object's first frame is lost.
        for k in fourth.observations where observations[k].score >= config.newTrackScore {
            var track = Track(observations[k], at: time, noise: config.noise)
            if isFirstFrame {
                track.state = .confirmed
                track.id = nextID
                nextID += 1
            }
            tracks.append(track)
        }

        // 10. Report confirmed tracks observed in this frame, and those placed by their
        //     visual predictor.
        return tracks.compactMap { track in
            guard let id = track.id,
                track.state == .confirmed && track.lastObservationTime == time || track.followedTime == time
            else { return nil }
            return TrackedObject(
                id: id, box: track.filter.box, score: track.score, classID: track.classID,
                followed: track.lastObservationTime != time)
        }
    }

    /// A track's filter response around the box it was correlated at.
    private struct Look {
        var around: Box
        var response: CorrelationFilter.Response

        /// How much what lies at `box`'s centre looks like the object, 0 to 1: the
        /// response there against its peak (where the object most likely is); nil
        /// outside the patch.
        func similarity(_ box: Box) -> Double? {
            guard response.peak > 0 else { return nil }
            return response.value(atOffsetX: box.centerX - around.centerX, y: box.centerY - around.centerY)
                .map { min(max(Double($0 / response.peak), 0), 1) }
        }
    }

    /// One association pass: optimal assignment of `candidates` (track indices) to
    /// `pending` (observation indices) with cost 1 − IoU, gated at `minIoU`; for a
    /// track with a `look`, a detection that does not look like its object at all is
    /// refused, and the overlap's cost of the others is fused with the filter's
    /// dissimilarity at the detection, under the same gate (so a detection less like
    /// the object needs more overlap).
    private func associate(
        _ candidates: [Int], _ pending: [Int], _ observations: [Observation],
        minIoU: Double, looks: [Int: Look] = [:], box: (Track) -> Box
    )
        -> (matches: [(track: Int, observation: Int)], tracks: [Int], observations: [Int])
    {
        guard !candidates.isEmpty, !pending.isEmpty else { return ([], candidates, pending) }
        var costs = [Double](repeating: .infinity, count: candidates.count * pending.count)
        for (r, t) in candidates.enumerated() {
            let track = tracks[t]
            let trackBox = box(track)
            for (c, k) in pending.enumerated() {
                let o = observations[k]
                if !compatible(o.classID, track.classID) { continue }
                let iou = trackBox.iou(o.box)
                guard iou >= minIoU else { continue }
                var cost = 1 - iou
                if let look = looks[t], let similarity = look.similarity(o.box) {
                    if similarity < config.visualMinSimilarity { continue }
                    cost = (1 - config.visualWeight) * cost + config.visualWeight * (1 - similarity)
                }
                costs[r * pending.count + c] = cost
            }
        }
        // Costs are finite or +infinity by construction, so the solver cannot throw.
        let pairs =
            (try? LinearAssignment.solve(
                costs: costs, rows: candidates.count, columns: pending.count,
                gate: 1 - minIoU)) ?? []
        var rowMatched = [Bool](repeating: false, count: candidates.count)
        var columnMatched = [Bool](repeating: false, count: pending.count)
        var result: [(track: Int, observation: Int)] = []
        for p in pairs {
            result.append((candidates[p.row], pending[p.column]))
            rowMatched[p.row] = true
            columnMatched[p.column] = true
        }
        return (
            result,
            candidates.indices.filter { !rowMatched[$0] }.map { candidates[$0] },
            pending.indices.filter { !columnMatched[$0] }.map { pending[$0] }
        )
    }
}
