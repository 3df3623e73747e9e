// Detector latency as trackd pays it: letterboxed or native frame in, boxes in source
// pixels out (input fill, inference, output copy, decoding, NMS). One frame of MEDIA,
// WARMUP runs, then REPEATS timed runs; prints the median and writes the exact input
// picture to INPUT.ppm so a runtime-alone reference can run on the same bytes.
// Driven by Benchmarks/detector-vs-openvino.sh.
//
//   DetectorBenchmark MODEL|default MEDIA THREADS INPUT.ppm [REPEATS] [WARMUP]
import Detection
import Foundation
import VideoIO

let arguments = CommandLine.arguments
guard arguments.count >= 5 else {
    FileHandle.standardError.write(
        Data("usage: DetectorBenchmark MODEL|default MEDIA THREADS INPUT.ppm [REPEATS] [WARMUP]\n".utf8))
    exit(2)
}
var options = DetectorOptions()
options.modelPath = arguments[1] == "default" ? nil : arguments[1]
options.threads = Int(arguments[3]) ?? 1
let repeats = arguments.count > 5 ? Int(arguments[5]) ?? 30 : 30
let warmup = arguments.count > 6 ? Int(arguments[6]) ?? 5 : 5

let detector = try loadDetector(options)
let frame = try FrameReader(arguments[2], options: detector.input.readerOptions()).nextFrame()!
let image = frame.image
try (Data("P6\n\(image.width) \(image.height)\n255\n".utf8) + Data(image.pixels)).write(to: URL(fileURLWithPath: arguments[4]))

var boxes = 0
for _ in 0..<warmup { boxes = try detector.detect(frame).count }
var times: [Double] = []
for _ in 0..<repeats {
    let start = DispatchTime.now()
    boxes = try detector.detect(frame).count
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6)
}
times.sort()
print(String(format: "%.2f %d %@", times[times.count / 2], boxes, detector.summary))
