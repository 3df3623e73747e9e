import Foundation
import Geometry
import VideoIO

/// The output layouts of YOLO-family ONNX exports that trackd decodes.
public enum YOLOLayout: String, Sendable, CaseIterable {
    /// Ultralytics YOLOv8 / YOLO11: `[1, 4 + classes, anchors]`, boxes (cx, cy, w, h)
    /// in input pixels, class scores already through a sigmoid, no objectness.
    case ultralytics
    /// YOLOv5: `[1, 3 × anchors, 5 + classes]`, boxes in input pixels, objectness
    /// times class score.
    case yolov5
    /// YOLOX (official export, no decoding in the graph): `[1, anchors, 5 + classes]`
    /// of raw grid offsets and log sizes per stride 8, 16, 32; BGR input, 0–255,
    /// letterboxed into the top-left corner.
    case yolox

    static let understood = """
        YOLOv8/YOLO11 [1, 4+classes, anchors], YOLOv5 [1, 3*anchors, 5+classes], \
        YOLOX [1, anchors, 5+classes], and TensorFlow Object Detection API SSD graphs \
        (detection_boxes, detection_scores, detection_classes, num_detections)
        """
}

/// A one-stage YOLO detector from an ONNX export, as its exporter wrote it:
/// letterboxed input at the model's size (or one it is reshaped to), decoding of its
/// output layout, score threshold, class filter, NMS, and boxes mapped back to
/// source pixels.
final class YOLODetector: Detector {
    let input: DetectorInput
    let classNames: [String]
    let summary: String
    let layout: YOLOLayout
    private let name: String
    private let compilations: Compilations
    private let request: InferRequest
    private let options: DetectorOptions
    private let keep: Set<Int>?
    private let width: Int, height: Int
    private let classCount: Int
    private let inputType: ElementType

    init(path: String, core: InferenceCore, model: InferenceModel, options: DetectorOptions) throws {
        let metadata = ONNXMetadata.read(path)

        // 1. Input: one [1, 3, H, W] float image, at --input-size if given (the
        //    heads are convolutional, so a fixed-size export reshapes cleanly), else
        //    its fixed size, else the export's metadata (imgsz), else 640.
        let inputs = try model.inputs
        guard inputs.count == 1, inputs[0].shape.count == 4, inputs[0].shape[1] == 3,
            inputs[0].elementType == .f32 || inputs[0].elementType == .f16
        else {
            throw DetectorError.unsupportedModel(
                path: path,
                reason:
                    "a YOLO export takes one [1, 3, height, width] float input; this model takes \(Self.describe(inputs)); trackd understands \(YOLOLayout.understood)"
            )
        }
        name = URL(fileURLWithPath: path).lastPathComponent
        let declared = (height: inputs[0].shape[2], width: inputs[0].shape[3])
        let own = metadata["imgsz"].flatMap(ONNXMetadata.imageSize) ?? (640, 640)
        (height, width) = options.inputSize.map { ($0, $0) } ?? (declared.height ?? own.0, declared.width ?? own.1)
        guard width > 0, height > 0, width % 32 == 0, height % 32 == 0 else {
            throw DetectorError.invalidOption("input size \(width)x\(height) must be a positive multiple of 32")
        }
        if declared.height != height || declared.width != width { try model.reshapeInput([1, 3, height, width]) }
        inputType = inputs[0].elementType

        // 2. Output layout, recognised from the (now static) shape unless forced.
        let outputs = try model.outputs
        let (w, h) = (width, height)
        guard
            let (index, layout, classCount) = outputs.enumerated().lazy.compactMap({ i, port in
                Self.recognise(port.shape, width: w, height: h, forced: options.layout).map { (i, $0.0, $0.1) }
            }).first
        else {
            throw DetectorError.unsupportedModel(
                path: path,
                reason:
                    "its outputs \(Self.describe(outputs)) match none of the layouts trackd understands: \(YOLOLayout.understood)\(options.layout.map { " (forced layout: \($0.rawValue))" } ?? "")"
            )
        }
        guard index == 0 else {
            throw DetectorError.unsupportedModel(
                path: path, reason: "the detection output must come first, found it at position \(index)")
        }
        self.layout = layout
        self.classCount = classCount

        // 3. Class names: --labels, else the export's own, else COCO's for an
        //    80-class model, else numbers.
        if let labels = options.labelsPath {
            classNames = try readLabels(labels)
        } else if let names = metadata["names"].flatMap(ONNXMetadata.names) {
            classNames = names
        } else if classCount == COCO.names.count {
            classNames = COCO.names
        } else {
            classNames = (0..<classCount).map(String.init)
        }
        keep = try classFilter(options.classes, names: classNames)

        input = DetectorInput(
            size: (width, height), alignment: layout == .yolox ? .topLeft : .center,
            pixelFormat: layout == .yolox ? .bgr24 : .rgb24)
        compilations = Compilations(core: core, model: model, options: options, kept: 4)
        request = try compilations.compiled([1, 3, height, width]).makeRequest()
        self.options = options
        summary = Self.summary(name, layout, classCount, width, height)
    }

    /// Another detector on the same model, at another input size if given (compiled
    /// once per size, for every detector on the model).
    private init(sharingModelOf other: YOLODetector, size: (width: Int, height: Int)? = nil) throws {
        (classNames, layout, name, compilations) = (other.classNames, other.layout, other.name, other.compilations)
        (options, keep, classCount, inputType) = (other.options, other.keep, other.classCount, other.inputType)
        (width, height) = size ?? (other.width, other.height)
        input = DetectorInput(size: (width, height), alignment: other.input.alignment, pixelFormat: other.input.pixelFormat)
        summary = Self.summary(name, layout, classCount, width, height)
        request = try compilations.compiled([1, 3, height, width]).makeRequest()
    }

    private static func summary(_ name: String, _ layout: YOLOLayout, _ classes: Int, _ width: Int, _ height: Int) -> String {
        "\(name) (\(layout.rawValue), \(classes) classes, \(width)x\(height))"
    }

    func sharingModel() throws -> any Detector { try YOLODetector(sharingModelOf: self) }

    /// With the fitted input shape: the input at the same long side, its other side
    /// fitted to the picture's aspect ratio (rounded up to the model's stride, 32), so
    /// that little of it is padding. The heads are convolutional, so any such size
    /// decodes as the square one does.
    func fitted(toWidth sourceWidth: Int, height sourceHeight: Int) throws -> any Detector {
        guard options.inputShape == .fitted else { return self }
        let size = fittedInputSize(
            sourceWidth: sourceWidth, sourceHeight: sourceHeight, longSide: max(width, height), stride: 32)
        guard size != (width, height) else { return self }
        return try YOLODetector(sharingModelOf: self, size: size)
    }

    private static func describe(_ ports: [PortInfo]) -> String {
        ports.map { "[\($0.shape.map { $0.map(String.init) ?? "?" }.joined(separator: ", "))]" }.joined(separator: ", ")
    }

    /// Anchor points of a stride-8/16/32 head: each stride-2 stage rounds up.
    static func cells(width: Int, height: Int) -> Int {
        var w = width
        var h = height
        var total = 0
        for stride in [2, 4, 8, 16, 32] {
            w = (w + 1) / 2
            h = (h + 1) / 2
            if stride >= 8 { total += w * h }
        }
        return total
    }

    /// The layout and class count an output shape has, if any.
    static func recognise(_ shape: [Int?], width: Int, height: Int, forced: YOLOLayout?) -> (YOLOLayout, Int)? {
        guard shape.count == 3, let batch = shape[0], batch == 1, let a = shape[1], let b = shape[2] else { return nil }
        let cells = cells(width: width, height: height)
        let channelsFirst = a >= 5 && b == cells
        let rows = b >= 6 ? a : 0
        switch forced {
        case .ultralytics?: return channelsFirst ? (.ultralytics, a - 4) : nil
        case .yolov5?: return rows > 0 ? (.yolov5, b - 5) : nil
        case .yolox?: return rows > 0 ? (.yolox, b - 5) : nil
        case nil:
            if channelsFirst { return (.ultralytics, a - 4) }
            if rows == 3 * cells { return (.yolov5, b - 5) }
            if rows == cells { return (.yolox, b - 5) }
            return nil
        }
    }

    func detect(_ frame: Frame) throws -> [Observation] {
        let image = frame.image
        precondition(
            image.width == width && image.height == height && image.pixelFormat == input.pixelFormat,
            "YOLODetector takes frames letterboxed to its input")
        try fillInput(image)
        try request.infer()
        var candidates = try request.withOutput(0) { decode($0) }
        candidates = nonMaximumSuppression(
            candidates, iou: options.iou, classAware: options.classAwareNMS,
            limit: options.maxDetections)
        guard let letterbox = frame.letterbox else { return candidates }
        let sw = Double(letterbox.sourceWidth)
        let sh = Double(letterbox.sourceHeight)
        return candidates.compactMap { c in
            let p = letterbox.toSource(x: c.box.x1, y: c.box.y1)
            let q = letterbox.toSource(x: c.box.x2, y: c.box.y2)
            let box = Box(x1: min(max(p.x, 0), sw), y1: min(max(p.y, 0), sh), x2: min(max(q.x, 0), sw), y2: min(max(q.y, 0), sh))
            guard box.width > 0, box.height > 0 else { return nil }
            return Observation(box: box, score: c.score, classID: c.classID)
        }
    }

    /// Packed 8-bit pixels to planar floats in the request's own input buffer:
    /// divided by 255 for Ultralytics and YOLOv5, raw 0–255 for YOLOX.
    private func fillInput(_ image: Image) throws {
        let plane = width * height
        let scale: Float = layout == .yolox ? 1 : 1 / 255
        try request.withInput(0, type: inputType, shape: [1, 3, height, width]) { buffer in
            image.pixels.withUnsafeBufferPointer { pixels in
                func fill<T>(_ type: T.Type, _ convert: (Float) -> T) {
                    let out = buffer.bindMemory(to: T.self)
                    for i in 0..<plane {
                        out[i] = convert(Float(pixels[3 * i]) * scale)
                        out[plane + i] = convert(Float(pixels[3 * i + 1]) * scale)
                        out[2 * plane + i] = convert(Float(pixels[3 * i + 2]) * scale)
                    }
                }
                if inputType == .f16 { fill(Float16.self) { Float16($0) } } else { fill(Float.self) { $0 } }
            }
        }
    }

    /// Candidates above the score threshold, in input pixels.
    func decode(_ v: UnsafeBufferPointer<Float>) -> [Observation] {
        let conf = Float(options.confidence)
        let nc = classCount
        var out: [Observation] = []
        func add(_ cx: Float, _ cy: Float, _ w: Float, _ h: Float, _ score: Float, _ cls: Int) {
            guard keep?.contains(cls) ?? true else { return }
            out.append(
                Observation(
                    box: Box(centerX: Double(cx), centerY: Double(cy), width: Double(w), height: Double(h)),
                    score: Double(score), classID: cls))
        }
        func best(_ at: (Int) -> Float) -> (Float, Int) {
            var score = at(0)
            var cls = 0
            for c in 1..<max(nc, 1) where at(c) > score {
                score = at(c)
                cls = c
            }
            return (score, cls)
        }
        switch layout {
        case .ultralytics:
            let n = v.count / (4 + nc)
            for i in 0..<n {
                let (score, cls) = best { v[(4 + $0) * n + i] }
                if score >= conf { add(v[i], v[n + i], v[2 * n + i], v[3 * n + i], score, cls) }
            }
        case .yolov5:
            let row = 5 + nc
            for i in 0..<(v.count / row) {
                let r = i * row
                guard v[r + 4] >= conf else { continue }
                let (cs, cls) = best { v[r + 5 + $0] }
                let score = v[r + 4] * cs
                if score >= conf { add(v[r], v[r + 1], v[r + 2], v[r + 3], score, cls) }
            }
        case .yolox:
            let row = 5 + nc
            var i = 0
            var w = width
            var h = height
            for stride in [2, 4, 8, 16, 32] {
                w = (w + 1) / 2
                h = (h + 1) / 2
                guard stride >= 8 else { continue }
                let s = Float(stride)
                for gy in 0..<h {
                    for gx in 0..<w {
                        let r = i * row
                        i += 1
                        guard v[r + 4] >= conf else { continue }
                        let (cs, cls) = best { v[r + 5 + $0] }
                        let score = v[r + 4] * cs
                        if score >= conf {
                            add(
                                (v[r] + Float(gx)) * s, (v[r + 1] + Float(gy)) * s, exp(v[r + 2]) * s, exp(v[r + 3]) * s, score,
                                cls)
                        }
                    }
                }
            }
        }
        return out
    }
}
