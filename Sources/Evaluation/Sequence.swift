import MOTFiles

/// Why a sequence cannot be scored (the caller adds which file).
public struct EvaluationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// MOTChallenge class ids in gt.txt's column 8 that matter to MOT17 scoring.
public enum GroundTruthClass {
    public static let pedestrian = 1
    /// person_on_vehicle, static_person, distractor, reflection: a result box on one of
    /// these is neither right nor wrong, so it is removed before scoring.
    public static let distractors: Set<Int> = [2, 7, 8, 12]
}

/// One sequence after MOTChallenge preprocessing: per frame, the pedestrian ground
/// truth and the result boxes that remain, ids renumbered densely from 0, and the IoU
/// of every (gt, result) pair.
struct PreparedSequence {
    struct Frame {
        var gt: [Int]
        var tracker: [Int]
        /// Row-major, gt.count × tracker.count.
        var similarity: [Double]
        func iou(_ g: Int, _ t: Int) -> Double { similarity[g * tracker.count + t] }
    }

    var frames: [Frame]
    var gtIDCount: Int
    var trackerIDCount: Int
    var gtDetections: Int
    var trackerDetections: Int

    /// As TrackEval's MotChallenge2DBox does for MOT16/17: result boxes that the optimal
    /// IoU ≥ 0.5 matching against *all* gt boxes of the frame pairs with a distractor
    /// are dropped; then only pedestrian gt with a non-zero mark is kept.
    init(groundTruth: [MOTRecord], results: [MOTRecord], frameCount: Int) throws {
        var gtByFrame = [[MOTRecord]](repeating: [], count: frameCount)
        for r in groundTruth {
            guard r.frame <= frameCount else {
                throw EvaluationError("ground truth frame \(r.frame) is past the sequence's \(frameCount) frames")
            }
            guard r.classID != nil else {
                throw EvaluationError("ground truth line for frame \(r.frame), id \(r.id) has no class (column 8)")
            }
            gtByFrame[r.frame - 1].append(r)
        }
        var resultsByFrame = [[MOTRecord]](repeating: [], count: frameCount)
        for r in results {
            guard r.frame <= frameCount else {
                throw EvaluationError("frame \(r.frame) is past the sequence's \(frameCount) frames")
            }
            resultsByFrame[r.frame - 1].append(r)
        }

        var gtIDs: [Int: Int] = [:]
        var trackerIDs: [Int: Int] = [:]
        var frames: [Frame] = []
        frames.reserveCapacity(frameCount)
        var gtDetections = 0
        var trackerDetections = 0
        for f in 0..<frameCount {
            let gt = gtByFrame[f]
            var tracker = resultsByFrame[f]
            var seen = Set<Int>()
            for r in tracker where !seen.insert(r.id).inserted {
                throw EvaluationError("frame \(f + 1) has track id \(r.id) more than once")
            }
            var iou = gt.flatMap { g in tracker.map { Self.iou(g, $0) } }
            if !gt.isEmpty, !tracker.isEmpty {
                let matching = iou.map { $0 < 0.5 - Double.ulpOfOne ? 0 : $0 }
                var drop = Set<Int>()
                for (g, t) in try OptimalMatching.maximize(matching, rows: gt.count, columns: tracker.count)
                where matching[g * tracker.count + t] > Double.ulpOfOne
                    && GroundTruthClass.distractors.contains(gt[g].classID!)
                {
                    drop.insert(t)
                }
                if !drop.isEmpty {
                    let keep = tracker.indices.filter { !drop.contains($0) }
                    iou = gt.indices.flatMap { g in keep.map { iou[g * tracker.count + $0] } }
                    tracker = keep.map { tracker[$0] }
                }
            }
            // The mark is read as an integer, as TrackEval does (0.5 counts as 0).
            let keepGT = gt.indices.filter { Int(gt[$0].confidence) != 0 && gt[$0].classID == GroundTruthClass.pedestrian }
            let similarity = keepGT.flatMap { g in tracker.indices.map { iou[g * tracker.count + $0] } }
            let frame = Frame(
                gt: keepGT.map { g in Self.dense(gt[g].id, &gtIDs) },
                tracker: tracker.map { Self.dense($0.id, &trackerIDs) },
                similarity: similarity)
            gtDetections += frame.gt.count
            trackerDetections += frame.tracker.count
            frames.append(frame)
        }
        self.frames = frames
        self.gtIDCount = gtIDs.count
        self.trackerIDCount = trackerIDs.count
        self.gtDetections = gtDetections
        self.trackerDetections = trackerDetections
    }

    private static func dense(_ id: Int, _ table: inout [Int: Int]) -> Int {
        if let index = table[id] { return index }
        table[id] = table.count
        return table.count - 1
    }

    /// Intersection over union of two boxes, computed in TrackEval's order of operations
    /// (corners first, then areas from the corners) so that values at the 0.5 threshold
    /// fall on the same side.
    static func iou(_ a: MOTRecord, _ b: MOTRecord) -> Double {
        let ar = a.left + a.width
        let ab = a.top + a.height
        let br = b.left + b.width
        let bb = b.top + b.height
        var intersection = max(min(ar, br) - max(a.left, b.left), 0) * max(min(ab, bb) - max(a.top, b.top), 0)
        let areaA = (ar - a.left) * (ab - a.top)
        let areaB = (br - b.left) * (bb - b.top)
        var union = areaA + areaB - intersection
        if areaA <= Double.ulpOfOne || areaB <= Double.ulpOfOne || union <= Double.ulpOfOne { intersection = 0 }
        if union <= Double.ulpOfOne { union = 1 }
        return intersection / union
    }
}
