import Geometry
import Tracking
import VideoIO
import XCTest

@testable import Detection
@testable import Service
@testable import ServiceFiles

/// Jobs and streams share one loaded model instead of reading it for each.
final class DetectorPoolTests: XCTestCase {
    private func settings(_ model: String) -> ServiceConfig.DetectorSettings {
        var s = ServiceConfig.DetectorSettings()
        s.model = "/nonexistent/\(model).onnx"
        return s
    }

    func testEveryTakeGetsItsOwnDetectorOnTheOneModel() throws {
        let pool = DetectorPool(concurrency: 3)
        XCTAssertEqual(pool.options(settings("m")).concurrency, 3, "compiled for a frame per worker and stream")
        let model = StubDetector()
        pool.share(model, settings: settings("m"))
        let first = try XCTUnwrap(try pool.take(settings("m")) as? StubDetector)
        let second = try XCTUnwrap(try pool.take(settings("m")) as? StubDetector)
        XCTAssertTrue(first !== second && first !== model && second !== model, "a request each, not one shared")
        XCTAssertTrue(first.sharedModel === model && second.sharedModel === model, "the model loaded once")
    }

    func testOtherSettingsLoadTheirModel() throws {
        let pool = DetectorPool(concurrency: 1)
        pool.share(StubDetector(), settings: settings("old"))
        XCTAssertThrowsError(try pool.take(settings("new"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/new.onnx"), "loaded the new model: \(error)")
        }
        // A failed load keeps the model in force.
        XCTAssertNoThrow(try pool.take(settings("old")))
    }
}
