import Geometry
import Tracking
import VideoIO
import XCTest

@testable import Detection
@testable import Service

/// Spool jobs share loaded detectors instead of reading the model for every job.
final class DetectorPoolTests: XCTestCase {
    private func settings(_ model: String) -> ServiceConfig.DetectorSettings {
        var s = ServiceConfig.DetectorSettings()
        s.model = "/nonexistent/\(model).onnx"
        return s
    }

    func testAJobTakesTheDetectorTheLastOneGaveBack() throws {
        let pool = DetectorPool()
        let a = StubDetector()
        let b = StubDetector()
        pool.giveBack(a, settings: settings("m"), limit: 2)
        pool.giveBack(b, settings: settings("m"), limit: 2)
        let first = try pool.take(settings("m"))
        let second = try pool.take(settings("m"))
        XCTAssertTrue(first === a && second === b, "both kept, neither loaded again")
        // None idle now: the next job loads the model (which does not exist here).
        XCTAssertThrowsError(try pool.take(settings("m"))) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/m.onnx"), "\(error)")
        }
    }

    func testOtherSettingsLetTheOldDetectorsGoAndTheLimitHolds() throws {
        let pool = DetectorPool()
        pool.giveBack(StubDetector(), settings: settings("old"), limit: 2)
        let fresh = StubDetector()
        pool.giveBack(fresh, settings: settings("new"), limit: 2)
        XCTAssertThrowsError(try pool.take(settings("old")), "dropped after a reload with other settings")
        XCTAssertTrue(try pool.take(settings("new")) === fresh)

        let kept = StubDetector()
        pool.giveBack(kept, settings: settings("new"), limit: 1)
        pool.giveBack(StubDetector(), settings: settings("new"), limit: 1)
        XCTAssertTrue(try pool.take(settings("new")) === kept)
        XCTAssertThrowsError(try pool.take(settings("new")), "one per worker at most")
    }
}
