import Geometry
import TestSupport
import XCTest

@testable import Tracking

final class CameraMotionTests: XCTestCase {
    private func noise(_ sigma: Double, _ rng: inout SeededGenerator) -> Double {
        // Sum of uniforms: near-Gaussian, deterministic.
        (0..<4).map { _ in Double.random(in: -1...1, using: &rng) }.reduce(0, +) * sigma / 1.1547
    }

    func testStillCameraWithNoisyTracksIsNeverShifted() {
        var estimator = CameraMotionEstimator(model: CameraMotionModel())
        var rng = SeededGenerator(seed: 11)
        for _ in 0..<3000 {
            let offsets = (0..<Int.random(in: 3...25, using: &rng)).map { _ in
                (dx: noise(4, &rng), dy: noise(4, &rng))
            }
            XCTAssertNil(estimator.shift(offsets: offsets, dt: 1.0 / 30))
        }
        XCTAssertLessThan(estimator.consistency, CameraMotionModel().minConsistency)
    }

    func testConsistentShiftIsFoundAfterAFewFrames() throws {
        var estimator = CameraMotionEstimator(model: CameraMotionModel())
        var rng = SeededGenerator(seed: 12)
        var shifts: [(dx: Double, dy: Double)?] = []
        for _ in 0..<10 {
            // Most tracks moved with the camera; two moved on their own.
            var offsets = (0..<8).map { _ in (dx: 12 + noise(1, &rng), dy: -5 + noise(1, &rng)) }
            offsets += [(dx: -40, dy: 30), (dx: 25, dy: 60)]
            shifts.append(estimator.shift(offsets: offsets, dt: 1.0 / 30))
        }
        XCTAssertNil(shifts[0], "one frame is not yet evidence")
        let last = try XCTUnwrap(shifts.last ?? nil)
        XCTAssertEqual(last.dx, 11.5, accuracy: 1)
        XCTAssertEqual(last.dy, -4.5, accuracy: 1)
    }

    func testTooFewTracksOrDisabledGiveNothing() {
        var estimator = CameraMotionEstimator(model: CameraMotionModel())
        for _ in 0..<30 { XCTAssertNil(estimator.shift(offsets: [(30, 0), (30, 0)], dt: 1.0 / 30)) }
        var model = CameraMotionModel()
        model.enabled = false
        var disabled = CameraMotionEstimator(model: model)
        for _ in 0..<30 { XCTAssertNil(disabled.shift(offsets: Array(repeating: (30, 0), count: 8), dt: 1.0 / 30)) }
    }

    /// The camera jerks sideways while one person is hidden: the other tracks show
    /// the jump, and the hidden one is moved with them, so it is found again.
    func testHiddenObjectIsFoundAfterTheCameraJumps() throws {
        func ids(cameraMotion: Bool) throws -> Set<Int> {
            var config = TrackerConfig()
            config.cameraMotion.enabled = cameraMotion
            var tracker = Tracker(config: config)
            var hiddenIDs = Set<Int>()
            for f in 0..<90 {
                let t = Double(f) / 30
                // 25 px per frame to the left for frames 40..<46: 150 px in all.
                let camera = -25.0 * Double(min(max(f - 39, 0), 6))
                var detections: [Observation] = []
                for p in 0..<6 {
                    let x = 150 + Double(p) * 160 + 20 * t + camera
                    let y = 300 + Double(p % 2) * 40
                    if p == 2, (35..<60).contains(f) { continue }  // hidden
                    detections.append(Observation(box: Box(left: x, top: y, width: 50, height: 120), score: 0.9))
                }
                let hiddenBox = detections.count == 6 ? detections[2].box : nil
                for object in try tracker.update(detections, time: t) {
                    if let hiddenBox, object.box.iou(hiddenBox) > 0.5 { hiddenIDs.insert(object.id) }
                }
            }
            return hiddenIDs
        }
        XCTAssertEqual(try ids(cameraMotion: true).count, 1)
        XCTAssertEqual(try ids(cameraMotion: false).count, 2, "without compensation the hidden track is lost")
    }
}
