import Tracking

/// Greedy non-maximum suppression within each class: boxes are taken best score
/// first, and a box overlapping an already kept box of its class by more than
/// `iou` is dropped. Ties in score keep the earlier candidate, so the result is
/// deterministic. Returns at most `limit` boxes, best first.
func nonMaximumSuppression(_ candidates: [Observation], iou threshold: Double, limit: Int) -> [Observation] {
    let order = candidates.indices.sorted {
        candidates[$0].score != candidates[$1].score ? candidates[$0].score > candidates[$1].score : $0 < $1
    }
    var kept: [Observation] = []
    for i in order {
        let c = candidates[i]
        if kept.contains(where: { $0.classID == c.classID && $0.box.iou(c.box) > threshold }) { continue }
        kept.append(c)
        if kept.count == limit { break }
    }
    return kept
}
