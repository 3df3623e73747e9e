// End to end vs the detector alone, on the same frames, in one process:
//   1. the detector alone: the first FRAMES frames decoded into memory first, then
//      detect() on each (no decoding, tracking or logging while it is timed);
//   2. the whole pipeline: decoding ahead on its own thread, detection, tracking and
//      the track log, over the same frames.
// The model is compiled and warmed up before either is timed. Prints both rates and
// their ratio. Driven by Benchmarks/pipeline.sh.
//
//   PipelineBenchmark VIDEO FRAMES [MODEL|default] [THREADS]
import Detection
import Foundation
import Pipeline
import Tracking
import VideoIO

let arguments = CommandLine.arguments
guard arguments.count >= 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: PipelineBenchmark VIDEO FRAMES [MODEL|default] [THREADS]\n".utf8))
    exit(2)
}
let video = arguments[1]
var options = DetectorOptions()
options.modelPath = arguments.count > 3 && arguments[3] != "default" ? arguments[3] : nil
options.threads = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0
let detector = try loadDetector(options)

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

// Frames in memory, and the time they span (the pipeline stops after the last one).
let reader = try FrameReader(video, options: detector.input.readerOptions())
var frames: [Frame] = []
while frames.count < count, let frame = try reader.nextFrame() { frames.append(frame) }
_ = try detector.detect(frames[0])  // compile and warm up

var start = now()
for frame in frames { _ = try detector.detect(frame) }
let alone = Double(frames.count) / (now() - start)
let endTime = frames.last!.time
frames = []

let log = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-benchmark-\(getpid()).jsonl").path
defer { try? FileManager.default.removeItem(atPath: log) }
start = now()
let source = try VideoSource(path: video, detector: detector, options: options, selection: FrameSelection(end: endTime))
let result = try TrackRun(tracker: TrackerConfig(), trackdVersion: "benchmark")
    .run(source, outputs: try RunOutputs(logPath: log, motPath: nil), stop: StopSignal())
let pipeline = Double(result.frames) / (now() - start)

print(String(format: "%.2f %.2f %.3f %d", alone, pipeline, pipeline / alone, result.frames))
