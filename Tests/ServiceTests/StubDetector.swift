import Geometry
import VideoIO

@testable import Detection

/// Stands in for a loaded model where only its identity matters: it finds nothing.
final class StubDetector: Detector {
    let input = DetectorInput(size: nil, alignment: .center, pixelFormat: .rgb24)
    let classNames = ["person"]
    let summary = "stub"
    func detect(_ frame: Frame) throws -> [Observation] { [] }
}
