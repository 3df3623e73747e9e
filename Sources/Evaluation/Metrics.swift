import MOTFiles

/// The counts behind HOTA, CLEAR MOT and Identity scores for one sequence or several
/// combined. Scores are fractions (1 = perfect); MOTChallenge tables show them × 100.
public struct Scores: Sendable, Equatable {
    /// HOTA's localisation thresholds α = 0.05, 0.10, ..., 0.95 (as numpy.arange makes them).
    public static let alphas: [Double] = (0..<19).map { 0.05 + Double($0) * 0.05 }

    /// Per α: true positives, misses, false positives, and the association accuracy.
    public var hotaTP: [Int]
    public var hotaFN: [Int]
    public var hotaFP: [Int]
    public var hotaAssA: [Double]

    /// CLEAR MOT at IoU 0.5.
    public var tp = 0, fn = 0, fp = 0, idsw = 0
    /// Mostly tracked (> 80 % of its frames matched), partly tracked (≥ 20 %), mostly lost.
    public var mt = 0, pt = 0, ml = 0
    /// Times a ground-truth track's coverage resumed after a gap.
    public var frag = 0

    /// Identity (IDF1) at IoU 0.5.
    public var idtp = 0, idfn = 0, idfp = 0

    init() {
        hotaTP = Array(repeating: 0, count: Self.alphas.count)
        hotaFN = hotaTP
        hotaFP = hotaTP
        hotaAssA = Array(repeating: 0, count: Self.alphas.count)
    }

    /// DetA per α.
    public var detAByAlpha: [Double] {
        Self.alphas.indices.map { Double(hotaTP[$0]) / Double(max(1, hotaTP[$0] + hotaFN[$0] + hotaFP[$0])) }
    }

    /// HOTA per α: the geometric mean of DetA and AssA.
    public var hotaByAlpha: [Double] {
        zip(detAByAlpha, hotaAssA).map { ($0 * $1).squareRoot() }
    }

    public var hota: Double { Self.mean(hotaByAlpha) }
    public var detA: Double { Self.mean(detAByAlpha) }
    public var assA: Double { Self.mean(hotaAssA) }
    public var mota: Double { Double(tp - fp - idsw) / Double(max(1, tp + fn)) }
    public var idf1: Double { Double(idtp) / max(1, Double(idtp) + 0.5 * Double(idfp) + 0.5 * Double(idfn)) }

    /// Several sequences scored as one, as TrackEval combines them: counts summed, AssA
    /// averaged per α weighted by true positives.
    public static func combined(_ parts: [Scores]) -> Scores {
        var total = Scores()
        for p in parts {
            for a in alphas.indices {
                total.hotaTP[a] += p.hotaTP[a]
                total.hotaFN[a] += p.hotaFN[a]
                total.hotaFP[a] += p.hotaFP[a]
                total.hotaAssA[a] += p.hotaAssA[a] * Double(p.hotaTP[a])
            }
            total.tp += p.tp
            total.fn += p.fn
            total.fp += p.fp
            total.idsw += p.idsw
            total.mt += p.mt
            total.pt += p.pt
            total.ml += p.ml
            total.frag += p.frag
            total.idtp += p.idtp
            total.idfn += p.idfn
            total.idfp += p.idfp
        }
        for a in alphas.indices { total.hotaAssA[a] /= Double(max(1, total.hotaTP[a])) }
        return total
    }

    private static func mean(_ values: [Double]) -> Double { values.reduce(0, +) / Double(values.count) }
}

public enum Evaluator {
    /// Scores one sequence: `groundTruth` as read from gt.txt (mark and class columns
    /// required), `results` from a tracker's `<seq>.txt`, `frameCount` from seqinfo.ini.
    /// Throws when a frame is past `frameCount` or a frame repeats a track id.
    public static func evaluate(groundTruth: [MOTRecord], results: [MOTRecord], frameCount: Int) throws -> Scores {
        let sequence = try PreparedSequence(groundTruth: groundTruth, results: results, frameCount: frameCount)
        var scores = Scores()
        try hota(sequence, &scores)
        try clear(sequence, &scores)
        try identity(sequence, &scores)
        return scores
    }

    private static let eps = Double.ulpOfOne

    /// HOTA (Luiten et al. 2021), as TrackEval computes it.
    static func hota(_ s: PreparedSequence, _ scores: inout Scores) throws {
        if s.trackerDetections == 0 || s.gtDetections == 0 {
            for a in Scores.alphas.indices {
                scores.hotaFN[a] = s.gtDetections
                scores.hotaFP[a] = s.trackerDetections
            }
            return
        }
        let nT = s.trackerIDCount
        // How strongly each (gt id, tracker id) pair overlaps over the whole sequence,
        // which decides the per-frame matching before any α threshold.
        var potential = [Double](repeating: 0, count: s.gtIDCount * nT)
        var gtCount = [Double](repeating: 0, count: s.gtIDCount)
        var trackerCount = [Double](repeating: 0, count: nT)
        for frame in s.frames {
            let rows = frame.gt.count
            let cols = frame.tracker.count
            var rowSum = [Double](repeating: 0, count: rows)
            var colSum = [Double](repeating: 0, count: cols)
            for g in 0..<rows {
                for t in 0..<cols {
                    rowSum[g] += frame.iou(g, t)
                    colSum[t] += frame.iou(g, t)
                }
            }
            for g in 0..<rows {
                for t in 0..<cols {
                    let denominator = colSum[t] + rowSum[g] - frame.iou(g, t)
                    if denominator > eps {
                        potential[frame.gt[g] * nT + frame.tracker[t]] += frame.iou(g, t) / denominator
                    }
                }
            }
            for g in frame.gt { gtCount[g] += 1 }
            for t in frame.tracker { trackerCount[t] += 1 }
        }
        var alignment = potential
        for g in 0..<s.gtIDCount {
            for t in 0..<nT {
                alignment[g * nT + t] = potential[g * nT + t] / (gtCount[g] + trackerCount[t] - potential[g * nT + t])
            }
        }

        // Matches per (gt id, tracker id) and α, kept sparse: few pairs ever match.
        var matches = [[Int: Int]](repeating: [:], count: Scores.alphas.count)
        for frame in s.frames {
            let rows = frame.gt.count
            let cols = frame.tracker.count
            if rows == 0 || cols == 0 {
                for a in Scores.alphas.indices {
                    scores.hotaFP[a] += cols
                    scores.hotaFN[a] += rows
                }
                continue
            }
            var score = frame.similarity
            for g in 0..<rows {
                for t in 0..<cols { score[g * cols + t] = alignment[frame.gt[g] * nT + frame.tracker[t]] * frame.iou(g, t) }
            }
            let pairs = try OptimalMatching.maximize(score, rows: rows, columns: cols)
            for (a, alpha) in Scores.alphas.enumerated() {
                var count = 0
                for (g, t) in pairs where frame.iou(g, t) >= alpha - eps {
                    count += 1
                    matches[a][frame.gt[g] * nT + frame.tracker[t], default: 0] += 1
                }
                scores.hotaTP[a] += count
                scores.hotaFN[a] += rows - count
                scores.hotaFP[a] += cols - count
            }
        }
        for a in Scores.alphas.indices {
            var sum = 0.0
            for (pair, m) in matches[a] {
                let (g, t) = pair.quotientAndRemainder(dividingBy: nT)
                let matched = Double(m)
                sum += matched * (matched / max(1, gtCount[g] + trackerCount[t] - matched))
            }
            scores.hotaAssA[a] = sum / Double(max(1, scores.hotaTP[a]))
        }
    }

    /// CLEAR MOT (Bernardin & Stiefelhagen 2008) at IoU 0.5, as TrackEval computes it:
    /// a match that continues the previous frame's pairing wins over a better overlap.
    static func clear(_ s: PreparedSequence, _ scores: inout Scores) throws {
        if s.trackerDetections == 0 || s.gtDetections == 0 {
            scores.fn = s.gtDetections
            scores.fp = s.trackerDetections
            scores.ml = s.gtIDCount
            return
        }
        var gtCount = [Int](repeating: 0, count: s.gtIDCount)
        var matchedCount = gtCount
        var fragments = gtCount
        // The tracker id each gt id was last matched to (for ID switches), and the one
        // it was matched to in the previous frame that had both gt and results (for
        // continuity; TrackEval leaves it untouched across frames missing either side).
        var lastTracker = [Int?](repeating: nil, count: s.gtIDCount)
        var previousTracker = lastTracker
        for frame in s.frames {
            let rows = frame.gt.count
            let cols = frame.tracker.count
            if rows == 0 {
                scores.fp += cols
                continue
            }
            if cols == 0 {
                scores.fn += rows
                for g in frame.gt { gtCount[g] += 1 }
                continue
            }
            var score = frame.similarity
            for g in 0..<rows {
                for t in 0..<cols {
                    let iou = frame.iou(g, t)
                    let continues = previousTracker[frame.gt[g]] == frame.tracker[t]
                    score[g * cols + t] = iou < 0.5 - eps ? 0 : (continues ? 1000 : 0) + iou
                }
            }
            let pairs = try OptimalMatching.maximize(score, rows: rows, columns: cols).filter {
                score[$0.row * cols + $0.column] > eps
            }
            var current = [Int?](repeating: nil, count: s.gtIDCount)
            for (g, t) in pairs {
                let gid = frame.gt[g]
                let tid = frame.tracker[t]
                if let last = lastTracker[gid], last != tid { scores.idsw += 1 }
                lastTracker[gid] = tid
                current[gid] = tid
                matchedCount[gid] += 1
                if previousTracker[gid] == nil { fragments[gid] += 1 }
            }
            for g in frame.gt { gtCount[g] += 1 }
            previousTracker = current
            scores.tp += pairs.count
            scores.fn += rows - pairs.count
            scores.fp += cols - pairs.count
        }
        for g in 0..<s.gtIDCount where gtCount[g] > 0 {
            let ratio = Double(matchedCount[g]) / Double(gtCount[g])
            if ratio > 0.8 { scores.mt += 1 } else if ratio >= 0.2 { scores.pt += 1 }
        }
        scores.ml = s.gtIDCount - scores.mt - scores.pt
        scores.frag = fragments.reduce(0) { $0 + max($1 - 1, 0) }
    }

    /// Identity scores (Ristani et al. 2016): the one-to-one pairing of gt ids and
    /// tracker ids that maximises frames where the pair overlaps by IoU ≥ 0.5.
    static func identity(_ s: PreparedSequence, _ scores: inout Scores) throws {
        let nT = s.trackerIDCount
        var overlaps = [Double](repeating: 0, count: s.gtIDCount * nT)
        for frame in s.frames {
            for g in frame.gt.indices {
                for t in frame.tracker.indices where frame.iou(g, t) >= 0.5 {
                    overlaps[frame.gt[g] * nT + frame.tracker[t]] += 1
                }
            }
        }
        let pairs = try OptimalMatching.maximize(overlaps, rows: s.gtIDCount, columns: nT)
        scores.idtp = pairs.reduce(0) { $0 + Int(overlaps[$1.row * nT + $1.column]) }
        scores.idfn = s.gtDetections - scores.idtp
        scores.idfp = s.trackerDetections - scores.idtp
    }
}
