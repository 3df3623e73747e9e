import Geometry

/// A MOTChallenge `det.txt` as observations per frame, so the tracker can be
/// measured on public benchmarks with everyone's same detections.
public struct MOTDetections: Sendable {
    /// Detections per 1-based frame number.
    private let byFrame: [Int: [Observation]]
    /// The highest frame number that has a detection.
    public let lastFrame: Int

    public init(records: [MOTRecord]) {
        var byFrame: [Int: [Observation]] = [:]
        for r in records {
            byFrame[r.frame, default: []].append(
                Observation(box: r.box, score: r.confidence, classID: max(r.classID ?? 0, 0)))
        }
        self.byFrame = byFrame
        lastFrame = byFrame.keys.max() ?? 0
    }

    /// Reads `det.txt`; malformed lines are reported with file and line number.
    public init(path: String) throws {
        self.init(records: try MOTText.read(path))
    }

    public func detections(frame: Int) -> [Observation] {
        byFrame[frame] ?? []
    }
}
