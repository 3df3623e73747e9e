import Foundation
import Geometry
import Pipeline
import TestSupport
import VideoIO
import XCTest

@testable import Detection

/// A detector that waits `seconds` on each frame and notes which frames it was asked
/// for, at what size, and how many calls were in it at once.
private final class WatchedDetector: Detector {
    let input = DetectorInput(size: (416, 256), alignment: .topLeft, pixelFormat: .bgr24)
    let classNames = ["person"]
    let summary = "watched stub"
    let seconds: Double
    let asked = Locked<[Int]>([])
    let sizes = Locked<[[Int]]>([])
    private let inside = Locked((now: 0, most: 0))

    init(seconds: Double) { self.seconds = seconds }

    var mostAtOnce: Int { inside.value.most }

    func detect(_ frame: Frame) throws -> [Observation] {
        inside.withLock { $0 = (now: $0.now + 1, most: max($0.most, $0.now + 1)) }
        defer { inside.withLock { $0.now -= 1 } }
        asked.withLock { $0.append(frame.index) }
        sizes.withLock { $0.append([frame.image.width, frame.image.height]) }
        Thread.sleep(forTimeInterval: seconds)
        return []
    }

    func sharingModel() throws -> any Detector { WatchedDetector(seconds: seconds) }
}

/// A detector that notes when it is freed, and takes its time being freed.
private final class SlowToFreeDetector: Detector {
    let input = DetectorInput(size: (416, 256), alignment: .topLeft, pixelFormat: .bgr24)
    let classNames = ["person"]
    let summary = "slow to free"
    let freed: Locked<Bool>

    init(_ freed: Locked<Bool>) { self.freed = freed }

    deinit {
        Thread.sleep(forTimeInterval: 0.05)
        freed.value = true
    }

    func detect(_ frame: Frame) throws -> [Observation] { [] }
    func sharingModel() throws -> any Detector { SlowToFreeDetector(freed) }
}

final class LiveSourceTests: XCTestCase {
    /// A source let go has let go of its detector too, on its detecting thread, before
    /// its deinit returns: not later, on a thread still ending.
    func testASourceLetGoHasFreedTheDetectorOnlyItHeld() throws {
        let freed = Locked(false)
        var source: VideoSource? = try VideoSource(
            path: Fixtures.path("h264.mp4"), detector: SlowToFreeDetector(freed), options: DetectorOptions())
        XCTAssertNotNil(try source?.next())
        source = nil
        XCTAssertTrue(freed.value)
    }

    /// The next frame is detected while the caller still tracks the one it has: the
    /// detector does not wait for the tracker.
    func testTheNextFrameIsDetectedWhileTheCallerHoldsThisOne() throws {
        let detector = WatchedDetector(seconds: 0)
        let source = try VideoSource(path: Fixtures.path("h264.mp4"), detector: detector, options: DetectorOptions())
        let first = try XCTUnwrap(source.next())
        XCTAssertEqual(first.index, 0)
        XCTAssertTrue(
            detector.asked.wait(atMost: 10) { $0.contains(1) }, "frame 1 is detected before the caller asks for it")
        XCTAssertEqual(try source.next()?.index, 1)
    }

    /// A source let go gives its detector back only once its own detection has ended,
    /// so the next source on the same detector (a stream's next connection) never
    /// runs it from two threads at once.
    func testASourceLetGoHandsItsDetectorBackIdle() throws {
        let detector = WatchedDetector(seconds: 0.03)
        for _ in 0..<3 {
            let source = try VideoSource(
                path: Fixtures.path("h264.mp4"), detector: detector, options: DetectorOptions(), live: true)
            _ = try source.next()
        }
        XCTAssertGreaterThan(detector.asked.value.count, 3)
        XCTAssertEqual(detector.mostAtOnce, 1, "the detector ran on two threads at once")
    }

    /// A live source whose detector cannot keep up decodes every frame but converts
    /// only those the detector takes: the dropped ones cost their decode alone.
    func testALiveSourceConvertsOnlyTheFramesItDetects() throws {
        let detector = WatchedDetector(seconds: 0.02)
        let source = try VideoSource(
            path: Fixtures.path("h264.mp4"), detector: detector, options: DetectorOptions(), queueCapacity: 2, live: true)
        var detected = 0
        while try source.next() != nil { detected += 1 }
        let stats = source.decodeStats
        XCTAssertEqual(stats.framesDelivered, 60, "every frame decoded")
        XCTAssertGreaterThan(source.droppedFrames, 0, "the detector fell behind: \(stats)")
        XCTAssertEqual(detected + source.droppedFrames, 60)
        XCTAssertEqual(stats.framesConverted, detected, "only the frames detected were converted")
        XCTAssertEqual(Set(detector.sizes.value), [[416, 256]])
    }

    /// A file read as fast as the detector takes it converts each frame it takes
    /// (on the decoder's thread, ahead of the detector), and with a stride none of
    /// the frames between.
    func testAFileSourceConvertsEachFrameTakenAndNoneBetweenStrides() throws {
        let source = try VideoSource(
            path: Fixtures.path("h264.mp4"), detector: WatchedDetector(seconds: 0), options: DetectorOptions(),
            selection: FrameSelection(stride: 3))
        var detected = 0
        while try source.next() != nil { detected += 1 }
        XCTAssertEqual(detected, 20)
        XCTAssertEqual(source.decodeStats.framesDelivered, 60)
        XCTAssertEqual(source.decodeStats.framesConverted, 20)
    }
}
