import Foundation
import Geometry
import Pipeline
import TestSupport
import VideoIO
import XCTest

@testable import Detection

/// A detector slower than the source: it takes each frame's size and waits.
private final class SlowDetector: Detector {
    let input = DetectorInput(size: (416, 256), alignment: .topLeft, pixelFormat: .bgr24)
    let classNames = ["person"]
    let summary = "slow stub"
    let seconds: Double
    private(set) var sizes: [[Int]] = []

    init(seconds: Double) { self.seconds = seconds }

    func detect(_ frame: Frame) throws -> [Observation] {
        sizes.append([frame.image.width, frame.image.height])
        Thread.sleep(forTimeInterval: seconds)
        return []
    }

    func sharingModel() throws -> any Detector { SlowDetector(seconds: seconds) }
}

final class LiveSourceTests: XCTestCase {
    /// A live source whose detector cannot keep up decodes every frame but converts
    /// only those the detector takes: the dropped ones cost their decode alone.
    func testALiveSourceConvertsOnlyTheFramesItDetects() throws {
        let detector = SlowDetector(seconds: 0.02)
        let source = try VideoSource(
            path: Fixtures.path("h264.mp4"), detector: detector, options: DetectorOptions(), queueCapacity: 2, live: true)
        var detected = 0
        while try source.next() != nil { detected += 1 }
        let stats = source.decodeStats
        XCTAssertEqual(stats.framesDelivered, 60, "every frame decoded")
        XCTAssertGreaterThan(source.droppedFrames, 0, "the detector fell behind: \(stats)")
        XCTAssertEqual(detected + source.droppedFrames, 60)
        XCTAssertEqual(stats.framesConverted, detected, "only the frames detected were converted")
        XCTAssertEqual(Set(detector.sizes), [[416, 256]])
    }

    /// A file read as fast as the detector takes it converts each frame it takes
    /// (on the decoder's thread, ahead of the detector), and with a stride none of
    /// the frames between.
    func testAFileSourceConvertsEachFrameTakenAndNoneBetweenStrides() throws {
        let source = try VideoSource(
            path: Fixtures.path("h264.mp4"), detector: SlowDetector(seconds: 0), options: DetectorOptions(),
            selection: FrameSelection(stride: 3))
        var detected = 0
        while try source.next() != nil { detected += 1 }
        XCTAssertEqual(detected, 20)
        XCTAssertEqual(source.decodeStats.framesDelivered, 60)
        XCTAssertEqual(source.decodeStats.framesConverted, 20)
    }
}
