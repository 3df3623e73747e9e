import Geometry

/// Greedy non-maximum suppression: boxes are taken best score first, and a box
/// overlapping an already kept box by more than `iou` is dropped — any kept box
/// (class-agnostic, YOLOX's own choice: a van seen as both `truck` and `car` stays
/// one object), or with `classAware` only one of its own class. Ties in score keep
/// the earlier candidate, so the result is deterministic. Returns at most `limit`
/// boxes, best first.
func nonMaximumSuppression(
    _ candidates: [Observation], iou threshold: Double, classAware: Bool = false,
    limit: Int
) -> [Observation] {
    let order = candidates.indices.sorted {
        candidates[$0].score != candidates[$1].score ? candidates[$0].score > candidates[$1].score : $0 < $1
    }
    var kept: [Observation] = []
    for i in order {
        let c = candidates[i]
        if kept.contains(where: { (!classAware || $0.classID == c.classID) && $0.box.iou(c.box) > threshold }) { continue }
        kept.append(c)
        if kept.count == limit { break }
    }
    return kept
}
