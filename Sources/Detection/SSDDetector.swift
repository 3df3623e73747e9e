import Foundation
import Geometry
import VideoIO

/// A TensorFlow Object Detection API SSD graph (such as the SSDLite-MobileNetV2 person
/// model scripts/setup installs, trackd's previous default): it takes the picture at its own size as 8-bit RGB, resizes it
/// inside the graph with TensorFlow's bilinear resize, and ends with its own box
/// decoding and NMS. Outputs: `detection_boxes` (normalised ymin, xmin, ymax, xmax),
/// `detection_scores`, `detection_classes` (1-based), `num_detections`.
///
/// Feeding it anything but the native frame changes its scores, so it gets the
/// native frame; the model is reshaped and compiled for each new frame size, and
/// detectors sharing the model share those compilations.
final class SSDDetector: Detector {
    private static let outputNames = ["detection_boxes:0", "detection_scores:0", "detection_classes:0", "num_detections:0"]
    /// The SSDLite person model's file as scripts/setup installs it: its one class is
    /// known without `--labels`.
    static let personModelFileName = "ssdlite-mobilenetv2-person.pb"

    let input = DetectorInput(size: nil, alignment: .center, pixelFormat: .rgb24)
    let classNames: [String]
    let summary: String
    private let compilations: Compilations
    private let options: DetectorOptions
    private let keep: Set<Int>?
    private var current: (width: Int, height: Int, request: InferRequest)?

    static func recognises(_ model: InferenceModel) -> Bool {
        outputNames.allSatisfy(model.hasOutput(named:))
    }

    init(path: String, core: InferenceCore, model: InferenceModel, options: DetectorOptions) throws {
        let inputs = try model.inputs
        guard inputs.count == 1, inputs[0].shape.count == 4, inputs[0].shape[3] == 3, inputs[0].elementType == .u8 else {
            throw DetectorError.unsupportedModel(
                path: path,
                reason:
                    "an SSD graph with one 8-bit [1, height, width, 3] input was expected, found \(inputs.map { "\($0.shape.map { $0.map(String.init) ?? "?" }) \($0.elementType)" })"
            )
        }
        if let labels = options.labelsPath {
            classNames = try readLabels(labels)
        } else if URL(fileURLWithPath: path).lastPathComponent == Self.personModelFileName {
            classNames = ["person"]
        } else {
            classNames = []
        }
        keep = try classFilter(options.classes, names: classNames)
        compilations = Compilations(core: core, model: model, options: options, kept: 4)
        self.options = options
        summary = "\(URL(fileURLWithPath: path).lastPathComponent) (TensorFlow SSD, native input size)"
    }

    private init(sharingModelOf other: SSDDetector) {
        (classNames, summary, compilations) = (other.classNames, other.summary, other.compilations)
        (options, keep) = (other.options, other.keep)
    }

    func sharingModel() throws -> any Detector { SSDDetector(sharingModelOf: self) }

    private func request(width: Int, height: Int) throws -> InferRequest {
        if let current, current.width == width, current.height == height { return current.request }
        current = nil  // free the old one before making the next
        let request = try compilations.compiled([1, height, width, 3]).makeRequest()
        current = (width, height, request)
        return request
    }

    func detect(_ frame: Frame) throws -> [Observation] {
        let image = frame.image
        precondition(image.pixelFormat == .rgb24 && frame.letterbox == nil, "SSDDetector takes native RGB frames")
        let request = try request(width: image.width, height: image.height)
        try request.withInput(0, type: .u8, shape: [1, image.height, image.width, 3]) { buffer in
            image.pixels.withUnsafeBytes { buffer.copyMemory(from: $0) }
        }
        try request.infer()
        let boxes = try request.output(named: Self.outputNames[0]).values
        let scores = try request.output(named: Self.outputNames[1]).values
        let classes = try request.output(named: Self.outputNames[2]).values
        let count = min(Int(try request.output(named: Self.outputNames[3]).values.first ?? 0), scores.count, boxes.count / 4)
        let w = Double(frame.info.sourceWidth)
        let h = Double(frame.info.sourceHeight)
        var result: [Observation] = []
        for i in 0..<count {
            let score = Double(scores[i])
            let classID = max(Int(classes[i]) - 1, 0)
            guard score >= options.confidence, keep?.contains(classID) ?? true else { continue }
            let b = boxes[(4 * i)..<(4 * i + 4)].map(Double.init)
            let box = Box(x1: max(0, b[1] * w), y1: max(0, b[0] * h), x2: min(w, b[3] * w), y2: min(h, b[2] * h))
            guard box.width > 0, box.height > 0 else { continue }
            result.append(Observation(box: box, score: score, classID: classID))
        }
        // The graph has done its NMS and sorted by score.
        return Array(result.prefix(options.maxDetections))
    }
}
