// Tracker-only throughput: every MOT17 val-half det.txt parsed up front, then the
// tracker run over all frames, several times; and the assignment solver on a dense
// 500x500 matrix. Prints figures; driven by Benchmarks/mot17-valhalf.sh.
//
//   TrackerBenchmark DATA_DIR [REPEATS]
import Assignment
import Foundation
import Geometry
import MOTFiles
import Tracking

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: TrackerBenchmark DATA_DIR [REPEATS]\n".utf8))
    exit(2)
}
let root = URL(fileURLWithPath: arguments[1])
let repeats = arguments.count > 2 ? Int(arguments[2]) ?? 5 : 5

var sequences: [(frames: [[Observation]], fps: Double)] = []
for name in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
    let dir = root.appendingPathComponent(name)
    guard let info = try? SequenceInfo.read(dir.appendingPathComponent("seqinfo.ini").path) else { continue }
    let replay = try MOTDetections(path: dir.appendingPathComponent("det/det.txt").path)
    sequences.append(((1...info.length).map(replay.detections(frame:)), info.frameRate))
}
let totalFrames = sequences.reduce(0) { $0 + $1.frames.count }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now()
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

var best = Double.infinity
var boxes = 0
for _ in 0..<repeats {
    boxes = 0
    best = min(
        best,
        try seconds {
            for sequence in sequences {
                var tracker = Tracker()
                for (f, detections) in sequence.frames.enumerated() {
                    boxes += try tracker.update(detections, time: Double(f) / sequence.fps).count
                }
            }
        })
}
print(
    String(
        format: "tracker: %d sequences, %d frames, %d boxes out; best of %d: %.4f s = %.0f frames/s (one core)",
        sequences.count, totalFrames, boxes, repeats, best, Double(totalFrames) / best))

var generator = SystemRandomNumberGenerator()
let n = 500
let dense = (0..<(n * n)).map { _ in Double.random(in: 0...1, using: &generator) }
var pairs = 0
let solve = try seconds { pairs = try LinearAssignment.solve(costs: dense, rows: n, columns: n, gate: 1).count }
print(String(format: "solver: dense %dx%d uniform costs, gate 1: %.3f s, %d pairs", n, n, solve, pairs))
