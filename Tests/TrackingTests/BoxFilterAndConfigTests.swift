import Foundation
import Geometry
import Tracking
import XCTest

final class BoxFilterTests: XCTestCase {
    func testLearnsAConstantVelocityFromTimestamps() {
        // 120 px/s to the right, observed at irregular times.
        var filter = BoxFilter(Box(left: 0, top: 0, width: 40, height: 100))
        var t = 0.0
        for dt in [0.04, 0.04, 0.1, 0.02, 0.04, 0.2, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04] {
            filter.predict(dt: dt)
            t += dt
            filter.update(Box(left: 120 * t, top: 0, width: 40, height: 100))
        }
        XCTAssertEqual(filter.velocity.x, 120, accuracy: 6)
        XCTAssertEqual(filter.velocity.y, 0, accuracy: 2)
        // Half a second ahead, the prediction is where the object will be.
        filter.predict(dt: 0.5)
        XCTAssertGreaterThan(filter.box.iou(Box(left: 120 * (t + 0.5), top: 0, width: 40, height: 100)), 0.85)
    }

    func testFrozenSizeStaysPut() {
        var filter = BoxFilter(Box(left: 0, top: 0, width: 40, height: 100))
        for k in 1...10 {  // growing by 2 px per step
            filter.predict(dt: 1.0 / 30)
            filter.update(Box(left: 0, top: 0, width: 40 + Double(2 * k), height: 100 + Double(5 * k)))
        }
        var frozen = filter
        frozen.freezeSize()
        let before = frozen.box
        for _ in 0..<30 { frozen.predict(dt: 1.0 / 30) }
        XCTAssertEqual(frozen.box.width, before.width, accuracy: 1e-9)
        XCTAssertEqual(frozen.box.height, before.height, accuracy: 1e-9)
        for _ in 0..<30 { filter.predict(dt: 1.0 / 30) }
        XCTAssertGreaterThan(filter.box.height, before.height + 20, "unfrozen, the size trend continues")
    }
}

final class TrackerConfigTests: XCTestCase {
    private func decode(_ json: String) throws -> TrackerConfig {
        try JSONDecoder().decode(TrackerConfig.self, from: Data(json.utf8))
    }

    func testMissingKeysKeepTheirDefaults() throws {
        XCTAssertEqual(try decode("{}"), TrackerConfig())
        let config = try decode(
            #"""
            {"matchIoU": 0.3, "perClass": false, "noise": {"velocity": 0.01}, "cameraMotion": {"enabled": false}}
            """#)
        var expected = TrackerConfig()
        expected.matchIoU = 0.3
        expected.perClass = false
        expected.noise.velocity = 0.01
        expected.cameraMotion.enabled = false
        XCTAssertEqual(config, expected)
    }

    func testAReadErrorNamesTheKeyItIsAt() throws {
        XCTAssertEqual(try TrackerConfig(json: Data(#"{"newTrackScore": 0.8}"#.utf8)).newTrackScore, 0.8)
        XCTAssertThrowsError(try TrackerConfig(json: Data(#"{"noise": {"position": "x"}}"#.utf8))) {
            XCTAssertEqual(($0 as? TrackerConfig.ReadError)?.key, "noise.position")
        }
        XCTAssertThrowsError(try TrackerConfig(json: Data(#"{"confirmHits": 0}"#.utf8))) {
            XCTAssertEqual("\($0)", "confirmHits: must be at least 1")
        }
        for key in ["visualWeight", "visualMinSimilarity"] {
            XCTAssertThrowsError(try TrackerConfig(json: Data(#"{"\#(key)": 1.5}"#.utf8))) {
                XCTAssertEqual("\($0)", "\(key): must be between 0 and 1")
            }
        }
        XCTAssertThrowsError(try TrackerConfig(json: Data("[1]".utf8))) {
            XCTAssertEqual(($0 as? TrackerConfig.ReadError)?.key, "")
        }
    }

    func testRoundTripsThroughJSON() throws {
        var config = TrackerConfig()
        config.maxLostSeconds = 2.5
        config.confirmHits = 3
        let data = try JSONEncoder().encode(config)
        XCTAssertEqual(try JSONDecoder().decode(TrackerConfig.self, from: data), config)
    }

    func testUnknownAndInvalidParametersAreErrors() {
        for json in [
            #"{"matchIOU": 0.3}"#, #"{"noise": {"positon": 0.1}}"#, #"{"confirmHits": 0}"#,
            #"{"noise": {"step": 0}}"#, #"{"highScore": "high"}"#,
            #"{"cameraMotion": {"window": 0}}"#, #"{"cameraMotion": {"enable": true}}"#
        ] {
            XCTAssertThrowsError(try decode(json), json)
        }
    }
}
