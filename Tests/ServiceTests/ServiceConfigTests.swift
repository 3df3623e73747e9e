import Detection
@testable import Service
import Tracking
import XCTest

/// The service's `tracker` keys sit on top of the detector's own preset, as
/// `trackd track --config` does.
final class ServiceConfigTests: XCTestCase {
    func testTrackerKeysOverrideTheDetectorPreset() throws {
        let preset = try ServiceConfig.parse(Data(#"{"tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(preset.tracker.highScore, DefaultModel.tracker.highScore)
        XCTAssertEqual(preset.tracker.maxLostSeconds, 2)
        XCTAssertEqual(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").tracker, DefaultModel.tracker)
        let own = try ServiceConfig.parse(Data(#"{"detector": {"model": "m.onnx"}, "tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(own.tracker.highScore, TrackerConfig().highScore)
        XCTAssertEqual(own.tracker.maxLostSeconds, 2)
    }
}
