import VideoIO
import XCTest

final class LetterboxTests: XCTestCase {
    func testWideSourceInSquare() {
        let box = Letterbox(sourceWidth: 1920, sourceHeight: 1080, width: 640, height: 640)
        XCTAssertEqual(box.contentWidth, 640)
        XCTAssertEqual(box.contentHeight, 360)
        XCTAssertEqual(box.padLeft, 0)
        XCTAssertEqual(box.padTop, 140)
        XCTAssertEqual(box.padBottom, 140)
        XCTAssertEqual(box.scale, 1.0 / 3, accuracy: 1e-12)
    }

    func testOddPaddingPutsTheExtraPixelLast() {
        let box = Letterbox(sourceWidth: 100, sourceHeight: 51, width: 100, height: 100)
        XCTAssertEqual(box.contentHeight, 51)
        XCTAssertEqual(box.padTop, 24)
        XCTAssertEqual(box.padBottom, 25)
    }

    func testTallSourceGetsSidePadding() {
        let box = Letterbox(sourceWidth: 720, sourceHeight: 1280, width: 640, height: 640)
        XCTAssertEqual(box.contentWidth, 360)
        XCTAssertEqual(box.contentHeight, 640)
        XCTAssertEqual(box.padLeft, 140)
        XCTAssertEqual(box.padRight, 140)
        XCTAssertEqual(box.padTop, 0)
    }

    func testPointsMapBackToTheSource() {
        let box = Letterbox(sourceWidth: 1280, sourceHeight: 720, width: 416, height: 416)
        // Content corners land on the source's corners exactly.
        let topLeft = box.toSource(x: Double(box.padLeft), y: Double(box.padTop))
        XCTAssertEqual(topLeft.x, 0, accuracy: 1e-9)
        XCTAssertEqual(topLeft.y, 0, accuracy: 1e-9)
        let bottomRight = box.toSource(x: Double(box.padLeft + box.contentWidth), y: Double(box.padTop + box.contentHeight))
        XCTAssertEqual(bottomRight.x, 1280, accuracy: 1e-9)
        XCTAssertEqual(bottomRight.y, 720, accuracy: 1e-9)
        for (x, y) in [(0.0, 0.0), (333.3, 12.5), (1279.0, 719.0), (640, 360)] {
            let there = box.fromSource(x: x, y: y)
            let back = box.toSource(x: there.x, y: there.y)
            XCTAssertEqual(back.x, x, accuracy: 1e-9)
            XCTAssertEqual(back.y, y, accuracy: 1e-9)
        }
    }

    func testSameAspectHasNoPadding() {
        let box = Letterbox(sourceWidth: 1280, sourceHeight: 720, width: 640, height: 360)
        XCTAssertEqual([box.padLeft, box.padTop, box.padRight, box.padBottom], [0, 0, 0, 0])
        XCTAssertEqual(box.scale, 0.5)
    }
}
