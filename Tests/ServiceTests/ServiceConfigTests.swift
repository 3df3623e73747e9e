import Detection
import Tracking
import XCTest

@testable import Service

/// The service's `tracker` keys sit on top of the tracker's defaults, as `trackd
/// track --config` does, and are read by the same decoder.
final class ServiceConfigTests: XCTestCase {
    func testTrackerKeysOverrideTheDefaults() throws {
        let config = try ServiceConfig.parse(Data(#"{"tracker": {"maxLostSeconds": 2}}"#.utf8), file: "c.json")
        XCTAssertEqual(config.tracker.highScore, TrackerConfig().highScore)
        XCTAssertEqual(config.tracker.maxLostSeconds, 2)
        XCTAssertEqual(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").tracker, TrackerConfig())
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"tracker": {"noise": {"size": true}}}"#.utf8), file: "c.json")) {
            XCTAssertTrue("\($0)".hasPrefix("c.json: tracker.noise.size: "), "\($0)")
        }
    }

    func testDetectorInputSizeAndNMSMode() throws {
        let config = try ServiceConfig.parse(
            Data(#"{"detector": {"inputSize": 512, "classAwareNMS": true}}"#.utf8), file: "c.json")
        XCTAssertEqual(config.detector.options.inputSize, 512)
        XCTAssertTrue(config.detector.options.classAwareNMS)
        XCTAssertFalse(try ServiceConfig.parse(Data("{}".utf8), file: "c.json").detector.options.classAwareNMS)
        XCTAssertThrowsError(try ServiceConfig.parse(Data(#"{"detector": {"classAwareNMS": 1}}"#.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: detector.classAwareNMS: must be true or false")
        }
    }

    func testStreamOptionsNoFFmpegComponentTakesAreRefusedAtLoad() throws {
        let good =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "options": {"rtsp_transport": "tcp", "rw_timeout": "1000000", "probesize": "65536"}}]}"#
        XCTAssertEqual(try ServiceConfig.parse(Data(good.utf8), file: "c.json").streams.first?.options.count, 3)
        let bad =
            #"{"streams": [{"name": "cam", "url": "rtsp://10.0.0.5/live", "options": {"rtsp_transport": "tcp", "rtsp_trasnport": "tcp"}}]}"#
        XCTAssertThrowsError(try ServiceConfig.parse(Data(bad.utf8), file: "c.json")) {
            XCTAssertEqual("\($0)", "c.json: streams[0].options: no FFmpeg demuxer or protocol takes the option 'rtsp_trasnport'")
        }
    }
}
