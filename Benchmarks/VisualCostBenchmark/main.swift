// What the visual predictors cost beside the detector they serve, on one core: the
// default detector's time per frame on a video's first frames, then the tracker's
// time per frame on the same pictures with OBJECTS synthetic detections (a grid of
// people-sized boxes walking 2 px a frame, each missed one frame in four so that
// placing by the look runs too), with tracker.visual off and on. Prints milliseconds
// per frame and the visual tracker's share of the detector's time. Driven by
// Benchmarks/visual-cost.sh.
//
//   VisualCostBenchmark VIDEO [OBJECTS] [FRAMES]
import Detection
import Foundation
import Geometry
import Tracking
import VideoIO

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: VisualCostBenchmark VIDEO [OBJECTS] [FRAMES]\n".utf8))
    exit(2)
}
let count = arguments.count > 2 ? Int(arguments[2]) ?? 30 : 30
let frameCount = arguments.count > 3 ? Int(arguments[3]) ?? 60 : 60

var options = DetectorOptions()
options.threads = 1
let detector = try loadDetector(options)
var readerOptions = detector.input.readerOptions()
readerOptions.keepsPictures = true
readerOptions.decoderThreads = 1
readerOptions.scalerThreads = 1
let reader = try FrameReader(arguments[1], options: readerOptions)
let frames = try { () throws -> [Frame] in
    var frames: [Frame] = []
    while frames.count < frameCount, let frame = try reader.nextFrame() { frames.append(frame) }
    return frames
}()
guard let first = frames.first?.picture else {
    FileHandle.standardError.write(Data("\(arguments[1]): no decoded frames\n".utf8))
    exit(1)
}

func milliseconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now()
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e6
}

func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

_ = try detector.detect(frames[0])
let detectorTimes = try frames.map { frame in try milliseconds { _ = try detector.detect(frame) } }

// A grid of `count` boxes a tenth of the picture's height tall, walking right.
let (width, height) = (Double(first.width), Double(first.height))
let columns = Int(Double(count).squareRoot().rounded(.up))
let rows = (count + columns - 1) / columns
func observations(frame k: Int) -> [Observation] {
    (0..<count).compactMap { n in
        guard (n + k) % 4 != 0 else { return nil }
        let boxHeight = height / 10
        let left = (Double(n % columns) + 0.2) * width / Double(columns) + 2 * Double(k)
        let top = (Double(n / columns) + 0.2) * height / Double(rows)
        return Observation(box: Box(left: left, top: top, width: boxHeight * 0.4, height: boxHeight), score: 0.9)
    }
}

func trackerTimes(visual: Bool) throws -> (times: [Double], reported: Int) {
    var config = TrackerConfig()
    config.visual = visual
    config.cameraMotion.enabled = false
    var tracker = Tracker(config: config)
    var reported = 0
    let times = try frames.enumerated().map { k, frame in
        let detections = observations(frame: k)
        return try milliseconds {
            reported +=
                try frame.picture!.withLuma { pixels, stride in
                    try tracker.update(
                        detections, time: Double(k) / 25,
                        luma: LumaPlane(width: first.width, height: first.height, stride: stride, pixels: pixels))
                }?.count ?? 0
        }
    }
    return (Array(times.dropFirst(5)), reported)
}

let motion = try trackerTimes(visual: false)
let visual = try trackerTimes(visual: true)
let detectorMS = median(detectorTimes)
print(String(format: "frames: %d of %@ (%dx%d), %d objects", frames.count, arguments[1], first.width, first.height, count))
print(String(format: "detector alone (1 thread): %.2f ms/frame  [%@]", detectorMS, detector.summary))
print(String(format: "tracker, motion only:      %.3f ms/frame  (%d boxes reported)", median(motion.times), motion.reported))
print(String(format: "tracker, visual:           %.3f ms/frame  (%d boxes reported)", median(visual.times), visual.reported))
print(String(format: "visual tracker / detector: %.3f (target <= 0.20)", median(visual.times) / detectorMS))
