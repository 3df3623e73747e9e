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

/// What the status file says of a running job.
final class ServiceStateTests: XCTestCase {
    func testARunningJobShowsItsLog() throws {
        let state = ServiceState()
        state.jobStarted("dup-2.mp4", log: "/spool/logs/dup-2.jsonl")
        let job = try XCTUnwrap(state.snapshot.jobs.first)
        XCTAssertEqual(job.name, "dup-2.mp4")
        XCTAssertEqual(job.log, "/spool/logs/dup-2.jsonl")
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(state.snapshot)) as? [String: Any]
        XCTAssertEqual(((json?["jobs"] as? [[String: Any]])?.first)?["log"] as? String, "/spool/logs/dup-2.jsonl")
    }
}
