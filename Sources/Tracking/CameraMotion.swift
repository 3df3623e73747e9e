import Foundation

/// Camera motion estimated from the tracks alone, without the image.
///
/// When the camera pans, shakes or turns, every object jumps the same way at
/// once: the boxes a constant-velocity filter predicts all miss in the same
/// direction, and an object unseen at that moment is looked for in the wrong place.
/// The offsets between predicted and matched boxes give the image shift: their
/// median, which the objects' own motions do not move much.
///
/// A static camera also sees shared offsets when a crowd slows down together,
/// and shifting every track then does harm. So the shift is applied only while
/// the recent offsets have been consistently larger than their own noise: the
/// ratio of the median offset to its standard error, averaged over `window`
/// seconds. On MOT17 a static camera stays near 1 and a moving one above 2.5.
public struct CameraMotionModel: Sendable, Equatable, Codable {
    /// Estimate and compensate camera motion.
    public var enabled = true
    /// Least averaged consistency (median offset over its standard error) at which
    /// the shift is applied.
    public var minConsistency = 2.0
    /// Seconds over which the consistency is averaged (exponential time constant).
    public var window = 0.67
    /// Offsets below this many pixels are noise: the shift is the median offset
    /// shrunk towards zero by this much on each axis.
    public var deadBand = 0.5

    /// Fewest matched tracks that give an estimate.
    static let minTracks = 3

    public init() {}
}

extension CameraMotionModel {
    enum CodingKeys: String, CodingKey, CaseIterable { case enabled, minConsistency, window, deadBand }

    public init(from decoder: any Decoder) throws {
        self.init()
        try TrackerConfig.rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.stringValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
        minConsistency = try c.decodeIfPresent(Double.self, forKey: .minConsistency) ?? minConsistency
        window = try c.decodeIfPresent(Double.self, forKey: .window) ?? window
        deadBand = try c.decodeIfPresent(Double.self, forKey: .deadBand) ?? deadBand
        if window <= 0 {
            throw DecodingError.dataCorruptedError(forKey: .window, in: c, debugDescription: "must be positive")
        }
        if deadBand < 0 {
            throw DecodingError.dataCorruptedError(forKey: .deadBand, in: c, debugDescription: "must not be negative")
        }
    }
}

/// The running state of camera-motion estimation over one video.
struct CameraMotionEstimator: Sendable {
    let model: CameraMotionModel
    /// Averaged consistency of recent offsets.
    private(set) var consistency = 0.0

    init(model: CameraMotionModel) {
        self.model = model
    }

    /// The image shift in pixels for this frame, from the offsets (observed minus
    /// predicted box centre) of the tracks matched in it, `dt` seconds after the
    /// previous frame; nil when the camera is taken to be still.
    mutating func shift(offsets: [(dx: Double, dy: Double)], dt: Double) -> (dx: Double, dy: Double)? {
        guard model.enabled, offsets.count >= CameraMotionModel.minTracks else { return nil }
        let mx = Self.median(offsets.map(\.dx))
        let my = Self.median(offsets.map(\.dy))
        // Standard error of a median: 1.4826 × MAD estimates σ; the median's error is
        // about σ / √n.
        let madX = Self.median(offsets.map { abs($0.dx - mx) })
        let madY = Self.median(offsets.map { abs($0.dy - my) })
        let standardError = 1.4826 * ((madX * madX + madY * madY) / 2).squareRoot() / Double(offsets.count).squareRoot()
        let ratio = (mx * mx + my * my).squareRoot() / (standardError + model.deadBand)
        let weight = 1 - exp(-max(dt, 0) / model.window)
        consistency += weight * (ratio - consistency)
        guard consistency >= model.minConsistency else { return nil }
        func shrink(_ m: Double) -> Double { m < 0 ? min(m + model.deadBand, 0) : max(m - model.deadBand, 0) }
        let shift = (dx: shrink(mx), dy: shrink(my))
        return shift.dx == 0 && shift.dy == 0 ? nil : shift
    }

    static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        let n = v.count
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
    }
}
