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

    /// A region of an image scaled into a letterbox: only that region's pixels, at
    /// the letterbox's place, the rest padding.
    func testRegionScalerLetterboxesOnlyTheRegion() throws {
        // 200x100 BGR: the left half blue (255, 0, 0), the right half red (0, 0, 255).
        var pixels = [UInt8](repeating: 0, count: 200 * 100 * 3)
        for y in 0..<100 {
            for x in 0..<200 { pixels[(y * 200 + x) * 3 + (x < 100 ? 0 : 2)] = 255 }
        }
        let image = Image(width: 200, height: 100, pixelFormat: .bgr24, pixels: pixels)
        let scaler = RegionScaler()
        // The right half (100x100) into 64x64 top-left: all red, no padding.
        let (right, box) = try scaler.letterbox(
            image, region: Region(x: 100, y: 0, width: 100, height: 100), width: 64, height: 64,
            alignment: .topLeft)
        XCTAssertEqual(box.contentWidth, 64)
        XCTAssertEqual(right.width, 64)
        for (x, y) in [(0, 0), (63, 63), (32, 10)] { XCTAssertTrue(right[x, y] == (0, 0, 255), "\(x),\(y): \(right[x, y])") }
        // A 100x50 region across both halves into 64x64 centred: blue left, red right,
        // padding above and below.
        let (across, box2) = try scaler.letterbox(
            image, region: Region(x: 50, y: 25, width: 100, height: 50), width: 64, height: 64,
            alignment: .center)
        XCTAssertEqual(box2.contentHeight, 32)
        XCTAssertEqual(box2.padTop, 16)
        XCTAssertTrue(across[5, 32] == (255, 0, 0), "\(across[5, 32])")
        XCTAssertTrue(across[58, 32] == (0, 0, 255), "\(across[58, 32])")
        XCTAssertTrue(across[32, 2] == (114, 114, 114), "\(across[32, 2])")
        XCTAssertTrue(across[32, 61] == (114, 114, 114), "\(across[32, 61])")
        // Back to the image's pixels: the letterbox's centre is the region's centre.
        let centre = box2.toSource(x: 32, y: 32)
        XCTAssertEqual(centre.x + 50, 100, accuracy: 0.01)
        XCTAssertEqual(centre.y + 25, 50, accuracy: 0.01)
    }
}
