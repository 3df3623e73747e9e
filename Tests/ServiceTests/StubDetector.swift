import Geometry
import VideoIO

@testable import Detection

/// Stands in for a loaded model where only its identity matters: it finds nothing,
/// and a detector sharing its model knows which one it shares.
final class StubDetector: Detector {
    let input = DetectorInput(size: nil, alignment: .center, pixelFormat: .rgb24)
    let classNames = ["person"]
    let summary = "stub"
    private(set) var sharedModel: StubDetector?

    func detect(_ frame: Frame) throws -> [Observation] { [] }

    func sharingModel() throws -> any Detector {
        let other = StubDetector()
        other.sharedModel = sharedModel ?? self
        return other
    }
}
