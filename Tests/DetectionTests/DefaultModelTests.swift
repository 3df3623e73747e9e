import Detection
import TestSupport
import Tracking
import VideoIO
import XCTest

/// The default SSDLite person model on real pictures, against people counted by hand.
final class DefaultModelTests: XCTestCase {
    // Loading the model takes seconds; XCTest runs the tests one at a time.
    nonisolated(unsafe) private static var shared: (any Detector)?

    private func detector() throws -> any Detector {
        if let d = Self.shared { return d }
        let d = try loadDetector(DetectorOptions())
        Self.shared = d
        return d
    }

    private func detect(_ path: String, frames: Set<Int> = [0], conf: Double = 0.5) throws -> [Int: [Observation]] {
        let d = try detector()
        let reader = try FrameReader(path, options: d.input.readerOptions())
        var result: [Int: [Observation]] = [:]
        while let frame = try reader.nextFrame(), frame.index <= frames.max()! {
            guard frames.contains(frame.index) else { continue }
            result[frame.index] = try d.detect(frame).filter { $0.score >= conf }
        }
        return result
    }

    /// Which hand-marked people (left, top, right, bottom) have a detection centred on
    /// them, and which detections are centred on nobody.
    private func match(_ found: [Observation], _ people: [Box]) -> (people: Set<Int>, strays: [Observation]) {
        var hit = Set<Int>(), strays: [Observation] = []
        for o in found {
            let cx = o.box.centerX, cy = o.box.centerY
            if let k = people.firstIndex(where: { cx >= $0.x1 && cx <= $0.x2 && cy >= $0.y1 && cy <= $0.y2 }) {
                hit.insert(k)
            } else {
                strays.append(o)
            }
        }
        return (hit, strays)
    }

    func testFindsTheWomanInPersonJPG() throws {
        // Darknet's person.jpg (640x424): a woman in a blue jacket, a dog and a horse.
        let found = try XCTUnwrap(detect(try Deps.media("person.jpg"))[0])
        XCTAssertEqual(found.count, 1, "\(found)")
        let woman = Box(x1: 190, y1: 98, x2: 276, y2: 376)
        XCTAssertGreaterThan(found.first?.box.iou(woman) ?? 0, 0.75, "\(found)")
        XCTAssertGreaterThan(found.first?.score ?? 0, 0.9)
        XCTAssertEqual(try detector().classNames, ["person"])
    }

    func testFindsNoPersonWhereThereIsNone() throws {
        // dog.jpg: a dog, a bicycle, a truck. horses.jpg: five horses.
        for name in ["dog.jpg", "horses.jpg"] {
            let found = try XCTUnwrap(detect(try Deps.media(name), conf: 0.3)[0])
            XCTAssertEqual(found, [], name)
        }
    }

    func testFindsThePeopleInVtestFrames() throws {
        // opencv-doc's vtest.avi (768x576), people marked by hand on two frames.
        let people: [Int: [Box]] = [
            0: [Box(x1: 498, y1: 155, x2: 532, y2: 234), Box(x1: 251, y1: 218, x2: 285, y2: 309),
                Box(x1: 638, y1: 238, x2: 687, y2: 324)],
            200: [Box(x1: 81, y1: 151, x2: 113, y2: 217), Box(x1: 217, y1: 189, x2: 252, y2: 268),
                  Box(x1: 486, y1: 143, x2: 520, y2: 224), Box(x1: 675, y1: 96, x2: 699, y2: 157),
                  Box(x1: 699, y1: 99, x2: 724, y2: 157), Box(x1: 613, y1: 262, x2: 654, y2: 370),
                  Box(x1: 701, y1: 251, x2: 746, y2: 355)],
        ]
        let found = try detect(try Deps.media("vtest.avi"), frames: Set(people.keys))
        for (frame, marked) in people {
            let (hit, strays) = match(found[frame] ?? [], marked)
            XCTAssertEqual(strays, [], "frame \(frame): detections on nobody")
            // A small model misses some small people: at most one per frame.
            XCTAssertGreaterThanOrEqual(hit.count, marked.count - 1, "frame \(frame): found \(hit.sorted()) of \(marked.count)")
        }
        // Boxes are in source pixels, inside the picture.
        for o in found.values.joined() {
            XCTAssertTrue(o.box.x1 >= 0 && o.box.y1 >= 0 && o.box.x2 <= 768 && o.box.y2 <= 576, "\(o.box)")
        }
    }
}
