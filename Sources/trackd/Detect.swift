import ArgumentParser
import Detection
import Foundation
import Geometry
import VideoIO

/// Options shared by every command that runs a detector.
struct DetectorArguments: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            Model file: an ONNX export of YOLOv8/YOLO11, YOLOv5 or YOLOX, or a TensorFlow \
            Object Detection API SSD graph. Default: YOLOX-Nano (COCO's 80 classes, \
            416x416), which scripts/setup installs.
            """, valueName: "model"))
    var model: String?

    @Option(help: ArgumentHelp("Class names, one per line, for a model that carries none.", valueName: "file"))
    var labels: String?

    @Option(help: "Least detection score kept (0-1).")
    var conf: Double = 0.25

    @Option(help: "Overlap (IoU) above which the weaker of two boxes is dropped, whatever their classes.")
    var iou: Double = 0.45

    @Flag(
        name: .customLong("class-aware-nms"),
        help: "Let boxes of different classes overlap: --iou compares only boxes of one class.")
    var classAwareNMS = false

    @Option(help: ArgumentHelp("Keep only these classes, by name or number (comma-separated).", valueName: "names"))
    var classes: String?

    @Option(help: "Inference threads (0: every core).")
    var threads: Int = 0

    @Option(
        help: ArgumentHelp(
            "Inference precision: auto is OpenVINO's choice (bf16 where the CPU has it, else f32).", valueName: "precision"))
    var precision = InferencePrecision.auto

    @Option(
        name: .customLong("input-size"),
        help: ArgumentHelp(
            "Reshape a YOLO model to this square input size (a multiple of 32): larger finds smaller objects, more slowly. Default: the model's own (fixed, or in its metadata, else 640).",
            valueName: "pixels"))
    var inputSize: Int?

    @Option(
        name: .customLong("input-shape"),
        help: ArgumentHelp(
            "The YOLO input's shape: square (the picture letterboxed into it), or fitted to the picture's aspect ratio at the same long side (416x256 for 16:9 at 416; compiled once per shape), which spends less work on padding.",
            valueName: "shape"))
    var inputShape = InputShape.square

    @Option(
        name: .customLong("tile-size"),
        help: ArgumentHelp(
            "Also detect on overlapping square tiles of this many pixels of the frame, merged with the whole frame's boxes: finds smaller objects in large frames, at one inference per tile (e.g. 540 on 960x540: 2 tiles).",
            valueName: "pixels"))
    var tileSize: Int?

    @Option(help: ArgumentHelp("Decode a YOLO model's output as this layout instead of recognising it.", valueName: "layout"))
    var layout: YOLOLayout?

    /// Values refused by the parser (exit 64), before any model loads.
    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must not be negative") }
        guard (0...1).contains(conf) else { throw ValidationError("--conf must be in [0, 1], got \(conf)") }
        guard iou > 0, iou <= 1 else { throw ValidationError("--iou must be in (0, 1], got \(iou)") }
    }

    var options: DetectorOptions {
        var o = DetectorOptions()
        o.modelPath = model
        o.labelsPath = labels
        o.confidence = conf
        o.iou = iou
        o.classAwareNMS = classAwareNMS
        o.classes = classes.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
        o.threads = threads
        o.inputSize = inputSize
        o.inputShape = inputShape
        o.tileSize = tileSize
        o.layout = layout
        o.precision = precision
        return o
    }
}

struct Detect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Detect objects in an image or the frames of a video.",
        discussion: """
            Prints one line per box: frame index, time (s), class, score, and the box \
            as left, top, width, height in the picture's pixels. With --json, one \
            JSON object per frame instead.
            """
    )

    @Argument(help: ArgumentHelp("An image or a video (anything FFmpeg reads).", valueName: "input"))
    var input: String

    @OptionGroup var detector: DetectorArguments

    @Option(help: "Stop after this many frames (default: all).")
    var frames: Int?

    @Flag(help: "One JSON object per frame.")
    var json = false

    func validate() throws {
        if let frames, frames <= 0 { throw ValidationError("--frames must be positive") }
    }

    struct DetectedBox: Encodable {
        var `class`: String
        var classId: Int
        var score: Double
        var box: [Double]
    }

    struct FrameReport: Encodable {
        var frame: Int
        var time: Double
        var detections: [DetectedBox]
    }

    func run() throws {
        CLI.quietFFmpeg()
        do {
            let loaded = try loadDetector(self.detector.options)
            let reader = try FrameReader(input, options: loaded.input.readerOptions())
            let detector = try loaded.fitted(toWidth: reader.info.width, height: reader.info.height)
            try reader.setOutput(detector.input.readerOptions().output)
            if !json { print("# \(detector.summary)") }
            var count = 0
            while frames.map({ count < $0 }) ?? true, let frame = try reader.nextFrame() {
                count += 1
                let boxes = try detector.detect(frame).map { o in
                    DetectedBox(
                        class: o.classID < detector.classNames.count ? detector.classNames[o.classID] : String(o.classID),
                        classId: o.classID, score: o.score,
                        box: o.box.leftTopWidthHeight.map { ($0 * 10).rounded() / 10 })
                }
                if json {
                    print(CLI.json(FrameReport(frame: frame.index, time: frame.time, detections: boxes)))
                } else {
                    for b in boxes {
                        print(
                            String(
                                format: "%d %.3f %@ %.3f %.1f %.1f %.1f %.1f", frame.index, frame.time, b.class,
                                b.score, b.box[0], b.box[1], b.box[2], b.box[3]))
                    }
                }
            }
        } catch {
            throw CLI.failure(error)
        }
    }
}

// Typed options: parsed and refused by the argument parser, and listed by --help.
extension InferencePrecision: ExpressibleByArgument {}
extension YOLOLayout: ExpressibleByArgument {}
extension InputShape: ExpressibleByArgument {}
