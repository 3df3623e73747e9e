import Geometry

/// One object's track: its filter, life-cycle state and recent observations.
struct Track: Sendable {
    /// Public id, given when the track is confirmed.
    var id: Int?
    var state = TrackState.tentative
    var filter: BoxFilter
    /// The class its detections voted for, their scores summed (`votes`).
    var classID: Int
    private var votes: [(classID: Int, score: Double)]
    var score: Double
    var hits = 1
    /// Frames in a row without an observation.
    var misses = 0
    /// The predicted box at the current frame's time.
    var predicted: Box
    var lastObservation: Box
    var lastObservationTime: Double
    /// The filter right after the last observation, to re-run through a gap.
    var filterAtLastObservation: BoxFilter
    /// Times of the frames predicted since the last observation.
    var missedTimes: [Double] = []
    /// The object's look, with `TrackerConfig.visual` and pictures.
    var appearance: CorrelationFilter?
    /// When the visual predictor last placed the track, without a detection.
    var followedTime: Double?
    /// The mean peak and peak-to-sidelobe ratio of the filter's responses in frames
    /// where a detection confirmed the track: what the object looks like to its
    /// filter, which a placement without a detection must come close to.
    private var matchedLooks: (peak: Double, psr: Double, count: Int) = (0, 0, 0)
    private var time: Double

    init(_ observation: Observation, at time: Double, noise: BoxFilter.Noise) {
        filter = BoxFilter(observation.box, noise: noise)
        classID = observation.classID
        votes = [(observation.classID, observation.score)]
        score = observation.score
        predicted = observation.box
        lastObservation = observation.box
        lastObservationTime = time
        filterAtLastObservation = filter
        self.time = time
    }

    mutating func predict(to newTime: Double) {
        filter.predict(dt: newTime - time)
        time = newTime
        predicted = filter.box
    }

    /// Takes an observation at the current time. After missed frames, the filter
    /// goes back to its state at the last observation and is re-updated along a
    /// straight line of virtual observations to the new one (OC-SORT's
    /// observation-centric re-update), so the velocity error gathered while the
    /// object was unseen does not linger.
    mutating func observe(_ observation: Observation, at now: Double, confirmHits: Int) {
        if !missedTimes.isEmpty {
            var replay = filterAtLastObservation
            var t = lastObservationTime
            let span = now - lastObservationTime
            for missed in missedTimes {
                let f = (missed - lastObservationTime) / span
                let a = lastObservation
                let b = observation.box
                replay.predict(dt: missed - t)
                replay.update(
                    Box(
                        x1: a.x1 + (b.x1 - a.x1) * f, y1: a.y1 + (b.y1 - a.y1) * f,
                        x2: a.x2 + (b.x2 - a.x2) * f, y2: a.y2 + (b.y2 - a.y2) * f))
                t = missed
            }
            replay.predict(dt: now - t)
            filter = replay
            missedTimes.removeAll(keepingCapacity: true)
        }
        filter.update(observation.box)
        filterAtLastObservation = filter
        lastObservation = observation.box
        lastObservationTime = now
        score = observation.score
        vote(observation)
        misses = 0
        hits += 1
        switch state {
        case .tentative where hits >= confirmHits: state = .confirmed
        case .lost: state = .confirmed
        default: break
        }
    }

    /// Counts an observation's class; the track takes the class with the most score,
    /// and keeps its own on a tie.
    private mutating func vote(_ observation: Observation) {
        if let k = votes.firstIndex(where: { $0.classID == observation.classID }) {
            votes[k].score += observation.score
        } else {
            votes.append((observation.classID, observation.score))
        }
        let own = votes.first { $0.classID == classID }?.score ?? 0
        if let best = votes.max(by: { $0.score < $1.score }), best.score > own { classID = best.classID }
    }

    /// Moves all the track knows of its place by (dx, dy) pixels, as the camera
    /// moved the image.
    mutating func shift(dx: Double, dy: Double) {
        filter.shift(dx: dx, dy: dy)
        filterAtLastObservation.shift(dx: dx, dy: dy)
        predicted = predicted.offsetBy(dx: dx, dy: dy)
        lastObservation = lastObservation.offsetBy(dx: dx, dy: dy)
    }

    /// Learns the object's look from the picture around its detection.
    mutating func learn(_ setup: CorrelationSetup, _ luma: LumaPlane, _ box: Box) {
        guard box.width >= 4, box.height >= 4 else { return }
        if appearance == nil {
            appearance = CorrelationFilter(setup, luma, box)
        } else {
            appearance?.update(setup, luma, box)
        }
    }

    /// Counts the filter's response in a frame where a detection confirmed the track.
    mutating func remember(_ response: CorrelationFilter.Response) {
        let n = Double(matchedLooks.count)
        matchedLooks = (
            (matchedLooks.peak * n + Double(response.peak)) / (n + 1),
            (matchedLooks.psr * n + Double(response.psr)) / (n + 1), matchedLooks.count + 1
        )
    }

    /// Without a detection: places the track where its filter finds the object around
    /// the prediction (`response`, when already computed there), if the filter is at
    /// least `confidence` sure and its response comes close to those of frames with a
    /// detection: peak at least 0.7 and peak-to-sidelobe ratio at least 0.45 of their
    /// means (LMCF's high-confidence test, Wang et al. 2017), so a filter left on the
    /// background once its object moved away or was hidden does not hold the track
    /// there. A track its filter never saw confirmed is not placed.
    mutating func follow(
        _ setup: CorrelationSetup, _ luma: LumaPlane, response known: CorrelationFilter.Response?,
        confidence: Double, at now: Double
    ) {
        guard let appearance, matchedLooks.count > 0 else { return }
        let around = filter.box
        let response = known ?? appearance.respond(setup, luma, around)
        guard Double(response.psr) >= max(confidence, 0.45 * matchedLooks.psr),
            Double(response.peak) >= 0.7 * matchedLooks.peak
        else { return }
        filter.update(centerX: around.centerX + response.dx, centerY: around.centerY + response.dy)
        followedTime = now
    }

    mutating func miss() {
        misses += 1
        missedTimes.append(time)
        if state == .confirmed { state = .lost }
        filter.freezeSize()
    }
}
