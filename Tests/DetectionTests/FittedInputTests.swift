import Detection
import Foundation
import Geometry
import TestSupport
import VideoIO
import XCTest

/// The input shaped like the picture: the same long side as the square input, the
/// other side fitted to the source's aspect ratio; boxes still in source pixels.
final class FittedInputTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testTheFittedSizeKeepsTheLongSideAndRoundsTheOtherUpToTheStride() {
        func fitted(_ w: Int, _ h: Int) -> [Int] {
            let size = fittedInputSize(sourceWidth: w, sourceHeight: h, longSide: 416, stride: 32)
            return [size.width, size.height]
        }
        XCTAssertEqual(fitted(1920, 1080), [416, 256], "16:9")
        XCTAssertEqual(fitted(1280, 720), [416, 256], "16:9")
        XCTAssertEqual(fitted(768, 576), [416, 320], "4:3")
        XCTAssertEqual(fitted(1080, 1920), [256, 416], "9:16")
        XCTAssertEqual(fitted(500, 500), [416, 416], "square")
        XCTAssertEqual(fitted(4000, 100), [416, 32], "never below one stride")
    }

    /// A picture of `width`x`height`, black with white rectangles at `boxes` (left,
    /// top, width, height, even numbers), as a PNG.
    private func picture(_ width: Int, _ height: Int, boxes: [[Int]]) throws -> String {
        let path = dir.appendingPathComponent("\(width)x\(height).png").path
        let draw = boxes.map { "drawbox=x=\($0[0]):y=\($0[1]):w=\($0[2]):h=\($0[3]):color=white:t=fill" }
        let made = try runProcess(
            "ffmpeg",
            [
                "-v", "error", "-y", "-f", "lavfi", "-i", "color=black:s=\(width)x\(height)", "-vf", draw.joined(separator: ","),
                "-frames:v", "1", "-pix_fmt", "rgb24", path
            ])
        guard made.status == 0 else { throw TestError.command(made.stderr) }
        return path
    }

    /// Rectangles of known place, read at the fitted size and found again in the
    /// model's input: mapped back, each edge lands within one input pixel's worth of
    /// source pixels of where it was drawn, at 16:9, 4:3 and 9:16.
    func testBoxesInTheFittedInputMapBackToTheirSourcePixels() throws {
        for (width, height, expected) in [(1920, 1080, [416, 256]), (768, 576, [416, 320]), (1080, 1920, [256, 416])] {
            let boxes = [
                [width / 10 * 2, height / 10 * 2, width / 10 * 2, height / 10 * 4],
                [width / 10 * 6, height / 2, width / 4, height / 8]
            ]
            let size = fittedInputSize(sourceWidth: width, sourceHeight: height, longSide: 416, stride: 32)
            XCTAssertEqual([size.width, size.height], expected)
            var options = FrameReader.Options()
            options.output = .letterbox(width: size.width, height: size.height)
            options.letterboxAlignment = .topLeft
            let reader = try FrameReader(try picture(width, height, boxes: boxes), options: options)
            let frame = try XCTUnwrap(reader.nextFrame())
            let letterbox = try XCTUnwrap(frame.letterbox)
            // One input pixel, in source pixels, and a half for the scaler's blur.
            let tolerance = 1.5 * Double(width) / Double(letterbox.contentWidth)
            for box in boxes {
                let found = try XCTUnwrap(
                    brightRegion(
                        frame.image, around: letterbox.fromSource(x: Double(box[0] + box[2] / 2), y: Double(box[1] + box[3] / 2)))
                )
                let p = letterbox.toSource(x: found.x1, y: found.y1)
                let q = letterbox.toSource(x: found.x2, y: found.y2)
                let drawn = [box[0], box[1], box[0] + box[2], box[1] + box[3]].map(Double.init)
                for (mapped, truth) in zip([p.x, p.y, q.x, q.y], drawn) {
                    XCTAssertEqual(mapped, truth, accuracy: tolerance, "\(width)x\(height) box \(box): \(p), \(q)")
                }
            }
        }
    }

    /// The bounds (pixel edges) of the bright region of `image` that holds `point`.
    private func brightRegion(_ image: Image, around point: (x: Double, y: Double)) -> Box? {
        func bright(_ x: Int, _ y: Int) -> Bool {
            x >= 0 && y >= 0 && x < image.width && y < image.height && image.pixels[(y * image.width + x) * 3] > 127
        }
        let (cx, cy) = (Int(point.x), Int(point.y))
        guard bright(cx, cy) else { return nil }
        var (x1, x2, y1, y2) = (cx, cx, cy, cy)
        while bright(x1 - 1, cy) { x1 -= 1 }
        while bright(x2 + 1, cy) { x2 += 1 }
        while bright(cx, y1 - 1) { y1 -= 1 }
        while bright(cx, y2 + 1) { y2 += 1 }
        return Box(x1: Double(x1), y1: Double(y1), x2: Double(x2 + 1), y2: Double(y2 + 1))
    }

    /// person.jpg on canvases of 16:9, 4:3 and 9:16: the default model with the fitted
    /// input takes the shape the picture calls for and finds the woman where the square
    /// input finds her, in the canvas's pixels.
    func testTheDefaultModelFindsTheSamePersonWithAFittedInput() throws {
        var square = DetectorOptions()
        square.inputShape = .square
        var fittedOptions = DetectorOptions()
        fittedOptions.inputShape = .fitted
        let squareModel = try loadDetector(square)
        let fittedModel = try loadDetector(fittedOptions)
        // person.jpg is 640x424; the woman is at (190, 98)-(276, 376).
        for (width, height, left, top, expected) in [
            (754, 424, 57, 0, [416, 256]), (640, 480, 0, 28, [416, 320]), (640, 1138, 0, 357, [256, 416])
        ] {
            let canvas = dir.appendingPathComponent("person-\(width)x\(height).png").path
            let made = try runProcess(
                "ffmpeg",
                [
                    "-v", "error", "-y", "-i", try Deps.media("person.jpg"), "-vf", "pad=\(width):\(height):\(left):\(top):gray",
                    "-frames:v", "1", canvas
                ])
            XCTAssertEqual(made.status, 0, made.stderr)
            let woman = Box(x1: Double(190 + left), y1: Double(98 + top), x2: Double(276 + left), y2: Double(376 + top))
            var found: [Box] = []
            for model in [squareModel, fittedModel] {
                let reader = try FrameReader(canvas, options: model.input.readerOptions())
                let detector = try model.fitted(toWidth: reader.info.width, height: reader.info.height)
                try reader.setOutput(detector.input.readerOptions().output)
                let frame = try XCTUnwrap(reader.nextFrame())
                XCTAssertEqual(frame.image.width, detector.input.size?.width)
                let people = try detector.detect(frame).filter { $0.classID == 0 && $0.score >= 0.5 }
                let best = try XCTUnwrap(people.max { $0.box.iou(woman) < $1.box.iou(woman) }, "\(width)x\(height): \(people)")
                XCTAssertGreaterThan(best.box.iou(woman), 0.75, "\(width)x\(height) \(detector.summary): \(best)")
                found.append(best.box)
                if model === fittedModel {
                    XCTAssertEqual([detector.input.size?.width, detector.input.size?.height], expected.map(Optional.some))
                    XCTAssertTrue(detector.summary.contains("\(expected[0])x\(expected[1])"), detector.summary)
                } else {
                    XCTAssertTrue(detector === model, "the square input is the same for every picture")
                }
            }
            XCTAssertGreaterThan(found[0].iou(found[1]), 0.85, "\(width)x\(height): square \(found[0]), fitted \(found[1])")
        }
    }
}
