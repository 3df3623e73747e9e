// End to end vs the detector alone, on the same frames, in one process, with where
// the time goes:
//   1. each stage alone over the first FRAMES frames: decoding (one thread), the
//      conversion to the model's input (one thread), the detector (its threads),
//      the tracker with its visual predictors (on the kept pictures) and the track
//      log (the tracker again with the log written, less the tracker alone);
//   2. the whole pipeline as `trackd track` runs it: decoding and conversion ahead on
//      one thread, detection a frame ahead on another, tracking and the track log on
//      the caller's, over the same frames.
// The model is compiled and warmed up before anything is timed. Prints the detector's
// rate alone, the pipeline's, their ratio and the frames, then each stage's
// milliseconds a frame. Driven by Benchmarks/pipeline.sh.
//
//   PipelineBenchmark VIDEO FRAMES [MODEL|default] [THREADS] [square|fitted]
import Detection
import Foundation
import Pipeline
import TrackLog
import Tracking
import VideoIO

let arguments = CommandLine.arguments
guard arguments.count >= 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(
        Data("usage: PipelineBenchmark VIDEO FRAMES [MODEL|default] [THREADS] [square|fitted]\n".utf8))
    exit(2)
}
let video = arguments[1]
var options = DetectorOptions()
options.modelPath = arguments.count > 3 && arguments[3] != "default" ? arguments[3] : nil
options.threads = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0
options.inputShape = arguments.count > 5 ? InputShape(rawValue: arguments[5]) ?? .square : .square
let detector = try loadDetector(options)
let tracker = TrackerConfig()

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

// 1. The stages alone. The reader is set up as the pipeline's (one decoder thread,
// one scaler thread, pictures kept for the visual predictors, the input fitted to
// the source when asked).
var readerOptions = detector.input.readerOptions()
readerOptions.decoderThreads = 1
readerOptions.scalerThreads = 1
readerOptions.keepsPictures = tracker.visual
let reader = try FrameReader(video, options: readerOptions)
let model = try detector.fitted(toWidth: reader.info.width, height: reader.info.height)
try reader.setOutput(model.input.readerOptions().output)
var decodeSeconds = 0.0
var convertSeconds = 0.0
var frames: [Frame] = []
while frames.count < count {
    var start = now()
    guard let decoded = try reader.nextDecodedFrame({ _ in .take }) else { break }
    decodeSeconds += now() - start
    start = now()
    frames.append(try reader.convert(decoded))
    convertSeconds += now() - start
}
_ = try model.detect(frames[0])  // compile and warm up

var start = now()
var detected: [DetectedFrame] = []
for frame in frames {
    detected.append(
        DetectedFrame(index: frame.index, time: frame.time, observations: try model.detect(frame), picture: frame.picture))
}
let detectSeconds = now() - start
let measured = Double(frames.count)
let alone = measured / detectSeconds
let endTime = frames.last!.time
frames = []

/// The detected frames again, from memory, for the tracker and the log alone.
final class Replay: DetectionSource {
    let source: LogHeader.Source
    let video: LogHeader.Video
    let detector: LogHeader.DetectorInfo
    let expectedFrames: Int?
    let hasPictures: Bool
    let decodeStats = DecodeStats()
    private var frames: ArraySlice<DetectedFrame>

    init(_ frames: [DetectedFrame], path: String, width: Int, height: Int, detector: LogHeader.DetectorInfo) {
        self.frames = frames[...]
        expectedFrames = frames.count
        hasPictures = frames.first?.picture != nil
        source = LogHeader.Source(path: path, bytes: nil)
        video = LogHeader.Video(width: width, height: height, frameRate: 10, timeBase: "1/10")
        self.detector = detector
    }

    func next() throws -> DetectedFrame? { frames.popFirst() }
    func cancel() {}
}

let log = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-benchmark-\(getpid()).jsonl").path
defer { try? FileManager.default.removeItem(atPath: log) }
let run = TrackRun(tracker: tracker, trackdVersion: "benchmark")

/// Seconds to track the detected frames, writing the track log or not.
@MainActor func track(logged: Bool) throws -> Double {
    let replay = Replay(
        detected, path: video, width: reader.info.width, height: reader.info.height,
        detector: LogHeader.DetectorInfo(
            model: "benchmark", kind: model.summary, classes: model.classNames, confidence: options.confidence,
            iou: options.iou, stride: 1))
    let sink = try logged ? LogSink(TrackLogWriter(path: log), analytics: nil) : nil
    try sink?.begin(run.header(for: replay))
    let session = TrackSession(tracker: tracker, source: replay, analytics: nil, sinks: sink.map { [$0] } ?? [])
    let start = now()
    try session.follow(replay, stop: StopSignal())
    try session.finish(RunEnd(status: .complete))
    return now() - start
}
let trackSeconds = try track(logged: false)
let logSeconds = max(0, try track(logged: true) - trackSeconds)
detected = []

// 2. The whole pipeline.
start = now()
let source = try VideoSource(
    path: video, detector: detector, options: options, selection: FrameSelection(end: endTime),
    keepsPictures: tracker.visual)
let result = try run.run(source, outputs: try RunOutputs(logPath: log, motPath: nil), stop: StopSignal())
let pipeline = Double(result.frames) / (now() - start)

print(String(format: "%.2f %.2f %.3f %d", alone, pipeline, pipeline / alone, result.frames))
let perFrame = [decodeSeconds, convertSeconds, detectSeconds, trackSeconds, logSeconds].map {
    String(format: "%.2f", $0 * 1000 / measured)
}
print(perFrame.joined(separator: " "))
