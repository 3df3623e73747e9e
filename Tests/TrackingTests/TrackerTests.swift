import Foundation
import Geometry
import TestSupport
import Tracking
import XCTest

/// Synthetic scenes with known truth: boxes on constant-velocity paths at 30 fps.
final class TrackerTests: XCTestCase {
    struct Walker {
        var x: Double, y: Double, vx: Double, vy: Double
        var width = 40.0, height = 100.0
        func box(at t: Double) -> Box { Box(left: x + vx * t, top: y + vy * t, width: width, height: height) }
    }

    /// Runs the tracker over `frames` frames; `observe` gives each frame's detections
    /// with the index of the true object (nil for clutter).
    private func run(
        frames: Int, fps: Double = 30, config: TrackerConfig = TrackerConfig(),
        observe: (Int, Double) -> [(Observation, Int?)]
    ) throws -> [[(TrackedObject, Int?)]] {
        var tracker = Tracker(config: config)
        var output: [[(TrackedObject, Int?)]] = []
        for f in 0..<frames {
            let t = Double(f) / fps
            let detections = observe(f, t)
            let tracked = try tracker.update(detections.map(\.0), time: t)
            // Attribute each output to the true object whose detection it overlaps most.
            output.append(
                tracked.map { object in
                    let best = detections.max { $0.0.box.iou(object.box) < $1.0.box.iou(object.box) }
                    return (object, best.flatMap { $0.0.box.iou(object.box) > 0.5 ? $0.1 : nil })
                })
        }
        return output
    }

    /// For each true object, the set of track ids it was reported under.
    private func idsPerObject(_ output: [[(TrackedObject, Int?)]]) -> [Int: Set<Int>] {
        var ids: [Int: Set<Int>] = [:]
        for frame in output {
            for (object, truth) in frame { if let truth { ids[truth, default: []].insert(object.id) } }
        }
        return ids
    }

    func testCrossingObjectsKeepTheirIdentities() throws {
        // Two people walk towards each other and cross at frame ~45.
        let a = Walker(x: 100, y: 200, vx: 120, vy: 0)
        let b = Walker(x: 460, y: 210, vx: -120, vy: 0)
        let output = try run(frames: 90) { _, t in
            [(Observation(box: a.box(at: t), score: 0.9), 0), (Observation(box: b.box(at: t), score: 0.85), 1)]
        }
        let ids = idsPerObject(output)
        XCTAssertEqual(ids[0]?.count, 1, "\(ids)")
        XCTAssertEqual(ids[1]?.count, 1, "\(ids)")
        XCTAssertNotEqual(ids[0], ids[1])
        XCTAssertEqual(output.last?.count, 2)
    }

    func testIdentitySurvivesAnOcclusion() throws {
        // Object 1 walks behind object 0 (standing still) and is unseen for 12 frames.
        let front = Walker(x: 300, y: 200, vx: 0, vy: 0, width: 60, height: 150)
        let walker = Walker(x: 100, y: 210, vx: 150, vy: 0)
        let output = try run(frames: 80) { f, t in
            var d: [(Observation, Int?)] = [(Observation(box: front.box(at: t), score: 0.95), 0)]
            if !(30..<42).contains(f) { d.append((Observation(box: walker.box(at: t), score: 0.9), 1)) }
            return d
        }
        let ids = idsPerObject(output)
        XCTAssertEqual(ids[1]?.count, 1, "walker got new ids after the occlusion: \(ids)")
        XCTAssertEqual(ids[0]?.count, 1)
    }

    func testMissedDetectionsAndLowScoresKeepTheTrack() throws {
        let w = Walker(x: 50, y: 50, vx: 90, vy: 30)
        let output = try run(frames: 60) { f, t in
            if f % 7 == 3 { return [] }  // missed outright
            return [(Observation(box: w.box(at: t), score: f % 5 == 2 ? 0.3 : 0.9), 0)]  // sometimes weak
        }
        XCTAssertEqual(idsPerObject(output)[0]?.count, 1)
        // Frames with a weak detection still report the track (BYTE's second pass).
        XCTAssertTrue(output[12].contains { $0.1 == 0 })
    }

    func testSpuriousDetectionsNeverBecomeConfirmedTracks() throws {
        var rng = SeededGenerator(seed: 3)
        let w = Walker(x: 200, y: 200, vx: 60, vy: 0)
        let output = try run(frames: 100) { f, t in
            var d: [(Observation, Int?)] = [(Observation(box: w.box(at: t), score: 0.9), 0)]
            // One-frame clutter somewhere else in every later frame, sometimes confident.
            let x = Double.random(in: 600...1800, using: &rng)
            let y = Double.random(in: 0...900, using: &rng)
            if f > 0 {
                d.append((Observation(box: Box(left: x, top: y, width: 30, height: 70), score: f % 3 == 0 ? 0.95 : 0.5), nil))
            }
            return d
        }
        let reported = Set(output.flatMap { $0.map(\.0.id) })
        XCTAssertEqual(reported.count, 1, "clutter became tracks: \(reported)")
    }

    func testObjectsInTheFirstFrameAreReportedAtOnceLaterOnesWhenConfirmed() throws {
        // In the first frame nothing came before to confirm against, so confident
        // detections are reported at once; afterwards a new object needs
        // `confirmHits` observations, and a weak first detection starts nothing.
        let a = Walker(x: 100, y: 100, vx: 60, vy: 0)
        let b = Walker(x: 600, y: 100, vx: -60, vy: 0)
        let output = try run(frames: 10) { f, t in
            var d: [(Observation, Int?)] = [(Observation(box: a.box(at: t), score: 0.9), 0)]
            if f == 0 { d.append((Observation(box: Box(left: 900, top: 300, width: 30, height: 70), score: 0.4), nil)) }
            if f >= 3 { d.append((Observation(box: b.box(at: t), score: 0.9), 1)) }
            return d
        }
        XCTAssertEqual(output[0].map(\.1), [0], "the weak box started nothing")
        XCTAssertEqual(output[3].map(\.1), [0], "b is tentative on its first frame")
        XCTAssertEqual(Set(output[4].map(\.1)), [0, 1])
        XCTAssertEqual(idsPerObject(output).mapValues(\.count), [0: 1, 1: 1])
    }

    func testFramesWithoutDetectionsAndIdsAreNeverReused() throws {
        var config = TrackerConfig()
        config.maxLostSeconds = 0.5
        let w = Walker(x: 10, y: 10, vx: 30, vy: 0)
        // Seen, then gone for 2 s (longer than maxLostSeconds), then back: a new id.
        let output = try run(frames: 150, config: config) { f, t in
            (40..<100).contains(f) ? [] : [(Observation(box: w.box(at: t), score: 0.9), 0)]
        }
        XCTAssertTrue(output[60].isEmpty)
        let before = Set(output[0..<40].flatMap { $0.map(\.0.id) })
        let after = Set(output[101...].flatMap { $0.map(\.0.id) })
        XCTAssertEqual(before.count, 1)
        XCTAssertEqual(after.count, 1)
        XCTAssertTrue(before.isDisjoint(with: after))
    }

    func testDroppedFramesInTimestampsKeepTheMotionModel() throws {
        // A fast walker; frames 20-29 were dropped by the source (a time gap, no
        // frames at all). The filter predicts across the gap from the timestamps.
        let w = Walker(x: 0, y: 100, vx: 300, vy: 0)
        var tracker = Tracker()
        var ids = Set<Int>()
        for f in 0..<60 where !(20..<30).contains(f) {
            let t = Double(f) / 30
            let out = try tracker.update([Observation(box: w.box(at: t), score: 0.9)], time: t)
            // Confirmed at once (the first frame), then reported in every frame.
            XCTAssertEqual(out.count, 1, "frame \(f)")
            ids.formUnion(out.map(\.id))
            if let box = out.first?.box, f > 5 { XCTAssertGreaterThan(box.iou(w.box(at: t)), 0.8, "frame \(f)") }
        }
        XCTAssertEqual(ids, [1])
    }

    func testTimeMustIncrease() throws {
        var tracker = Tracker()
        _ = try tracker.update([], time: 1)
        XCTAssertThrowsError(try tracker.update([], time: 1))
        XCTAssertThrowsError(try tracker.update([], time: 0.5))
    }

    func testPerClassTrackingKeepsClassesApart() throws {
        // Per class by default.
        var tracker = Tracker()
        let box = Box(left: 100, top: 100, width: 50, height: 50)
        _ = try tracker.update([Observation(box: box, score: 0.9, classID: 1)], time: 0)
        XCTAssertEqual(try tracker.update([Observation(box: box, score: 0.9, classID: 1)], time: 0.04).map(\.id), [1])
        let out = try tracker.update([Observation(box: box, score: 0.9, classID: 2)], time: 0.08)
        XCTAssertTrue(out.isEmpty, "a class-2 detection must not continue a class-1 track")
        XCTAssertEqual(tracker.liveTrackCount, 2, "the class-1 track is lost, the class-2 one tentative")

        // Class-agnostic when asked: the same detections continue one track.
        var config = TrackerConfig()
        config.perClass = false
        var agnostic = Tracker(config: config)
        _ = try agnostic.update([Observation(box: box, score: 0.9, classID: 1)], time: 0)
        _ = try agnostic.update([Observation(box: box, score: 0.9, classID: 1)], time: 0.04)
        XCTAssertEqual(try agnostic.update([Observation(box: box, score: 0.9, classID: 2)], time: 0.08).map(\.id), [1])
    }

    /// A van the detector calls a car in some frames and a truck in others stays one
    /// track, whose class is the vote of its detections; a person never continues it.
    func testAnObjectWhoseClassFlickersWithinItsGroupStaysOneTrack() throws {
        let classes = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck"]
        let (person, car, truck) = (0, 2, 7)
        var tracker = Tracker(config: TrackerConfig(), classes: classes)
        var ids = Set<Int>()
        var reported: [Int] = []
        for f in 0..<30 {
            // Truck in 2 frames of 3, with lower scores as the car frames.
            let box = Box(left: 100 + Double(f), top: 100, width: 120, height: 60)
            let observation =
                f % 3 == 0 ? Observation(box: box, score: 0.9, classID: car) : Observation(box: box, score: 0.7, classID: truck)
            for object in try tracker.update([observation], time: Double(f) / 10) {
                ids.insert(object.id)
                reported.append(object.classID)
            }
        }
        XCTAssertEqual(ids, [1], "one track through the flicker")
        XCTAssertEqual(reported.count, 30)
        XCTAssertEqual(reported.last, truck, "the vote: 20 × 0.7 for truck against 10 × 0.9 for car")
        // A person over the same box starts a track of its own.
        let box = Box(left: 130, top: 100, width: 120, height: 60)
        XCTAssertEqual(try tracker.update([Observation(box: box, score: 0.9, classID: person)], time: 3), [])

        // Groups are the configuration's: with none, the flicker splits the track.
        var config = TrackerConfig()
        config.classGroups = []
        var split = Tracker(config: config, classes: classes)
        var splitIDs = Set<Int>()
        for f in 0..<30 {
            let box = Box(left: 100 + Double(f), top: 100, width: 120, height: 60)
            let observation = Observation(box: box, score: 0.9, classID: f < 15 ? car : truck)
            for object in try split.update([observation], time: Double(f) / 10) { splitIDs.insert(object.id) }
        }
        XCTAssertEqual(splitIDs.count, 2)
        XCTAssertThrowsError(try TrackerConfig(json: Data(#"{"classGroups": [["car", "truck"], ["truck", "bus"]]}"#.utf8))) {
            XCTAssertTrue("\($0)".contains("'truck' is in more than one group"), "\($0)")
        }
    }

    func testSameInputGivesIdenticalOutput() throws {
        var rng = SeededGenerator(seed: 11)
        let frames: [[Observation]] = (0..<200).map { _ in
            (0..<Int.random(in: 0...25, using: &rng)).map { _ in
                Observation(
                    box: Box(
                        left: Double.random(in: 0...1800, using: &rng), top: Double.random(in: 0...900, using: &rng),
                        width: Double.random(in: 10...80, using: &rng), height: Double.random(in: 30...200, using: &rng)),
                    score: Double.random(in: 0...1, using: &rng))
            }
        }
        func trace() throws -> [TrackedObject] {
            var tracker = Tracker()
            return try frames.enumerated().flatMap { f, d in try tracker.update(d, time: Double(f) / 25) }
        }
        let first = try trace()
        XCTAssertFalse(first.isEmpty)
        XCTAssertEqual(try trace(), first)
    }

    func testMemoryIsBoundedByLiveTracks() throws {
        // Thousands of short-lived objects: removed tracks must not pile up.
        var tracker = Tracker()
        for f in 0..<3000 {
            let x = Double(f % 50) * 35
            _ = try tracker.update(
                [Observation(box: Box(left: x, top: Double(f % 7) * 120, width: 30, height: 60), score: 0.9)],
                time: Double(f) / 30)
        }
        XCTAssertLessThan(tracker.liveTrackCount, 80)
    }
}
