import Foundation

/// Every tracker parameter, with its default. Times are in seconds, so the same
/// configuration works at any frame rate. The defaults were chosen on the six
/// development sets, among them the default model's boxes of the development videos
/// (its weak boxes are why the low-score pass starts at 0.2).
public struct TrackerConfig: Sendable, Equatable, Codable {
    /// Detections at or above this score take part in the first association and may
    /// start tracks (BYTE's high-score set).
    public var highScore = 0.6
    /// Detections between this and `highScore` only extend tracks that were visible
    /// in the previous frame (BYTE's second pass); below it they are dropped.
    public var lowScore = 0.2
    /// A new track starts only from a detection at or above this score.
    public var newTrackScore = 0.6
    /// Least IoU between a track's predicted box and a high-score detection.
    public var matchIoU = 0.2
    /// Least IoU in the second pass, where detections are less trustworthy.
    public var lowScoreMatchIoU = 0.5
    /// Least IoU between a tentative track and a detection.
    public var tentativeMatchIoU = 0.3
    /// Consecutive observations that confirm a tentative track.
    public var confirmHits = 2
    /// How long a confirmed track may go unseen before it is removed.
    public var maxLostSeconds = 1.0
    /// Kalman filter noise.
    public var noise = BoxFilter.Noise()
    /// Camera motion estimated from the tracks and compensated.
    public var cameraMotion = CameraMotionModel()
    /// Only associate detections with tracks of the same class (ids stay one space
    /// across classes): a car never continues a person's track. False lets a track
    /// follow an object whose class the detector hesitates over.
    public var perClass = true
    /// Classes a detector hesitates between for one object: with `perClass`, a
    /// detection may still continue a track of another class of its group (a van is a
    /// car in one frame and a truck in the next, and stays one track). A track's class
    /// is the vote of its detections, their scores summed. Names not in the
    /// detector's classes are ignored.
    public var classGroups: [[String]] = [["car", "truck", "bus", "van"]]
    /// A correlation filter per track, learned on the picture around its detections:
    /// a confirmed track without a detection is placed where its filter finds the
    /// object, while the filter is sure (`visualConfidence`), and association weighs
    /// how much each detection looks like the track's object (`visualWeight`). Needs
    /// pictures: a replay of detections runs without. The track still ends
    /// `maxLostSeconds` after its last detection.
    public var visual = true
    /// The least peak-to-sidelobe ratio of a filter's response that places a track
    /// (MOSSE counts under 7 as lost).
    public var visualConfidence = 8.0
    /// How much the look counts in association, against the overlap (0: not at all):
    /// the cost of pairing a track with a detection is (1 − w)(1 − IoU) + w(1 − s),
    /// s the track's filter response where the detection is (about 1 for its object).
    public var visualWeight = 0.3
    /// Where a track's filter is sure, a detection whose look s (as for
    /// `visualWeight`) is under this is refused, however well it overlaps: it is
    /// something else (0: never refused).
    public var visualMinSimilarity = 0.2

    public init() {}
}

extension TrackerConfig {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case highScore, lowScore, newTrackScore, matchIoU, lowScoreMatchIoU, tentativeMatchIoU,
            confirmHits, maxLostSeconds, noise, cameraMotion, perClass, classGroups, visual, visualConfidence, visualWeight,
            visualMinSimilarity
    }

    /// Reads a configuration in which every key is optional (a missing key keeps its
    /// default) and an unknown key is an error, so a misspelt parameter is not
    /// silently ignored.
    public init(from decoder: any Decoder) throws {
        self.init()
        try Self.rejectUnknownKeys(decoder, known: CodingKeys.allCases.map(\.stringValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        highScore = try c.decodeIfPresent(Double.self, forKey: .highScore) ?? highScore
        lowScore = try c.decodeIfPresent(Double.self, forKey: .lowScore) ?? lowScore
        newTrackScore = try c.decodeIfPresent(Double.self, forKey: .newTrackScore) ?? newTrackScore
        matchIoU = try c.decodeIfPresent(Double.self, forKey: .matchIoU) ?? matchIoU
        lowScoreMatchIoU = try c.decodeIfPresent(Double.self, forKey: .lowScoreMatchIoU) ?? lowScoreMatchIoU
        tentativeMatchIoU = try c.decodeIfPresent(Double.self, forKey: .tentativeMatchIoU) ?? tentativeMatchIoU
        confirmHits = try c.decodeIfPresent(Int.self, forKey: .confirmHits) ?? confirmHits
        maxLostSeconds = try c.decodeIfPresent(Double.self, forKey: .maxLostSeconds) ?? maxLostSeconds
        noise = try c.decodeIfPresent(BoxFilter.Noise.self, forKey: .noise) ?? noise
        cameraMotion = try c.decodeIfPresent(CameraMotionModel.self, forKey: .cameraMotion) ?? cameraMotion
        perClass = try c.decodeIfPresent(Bool.self, forKey: .perClass) ?? perClass
        classGroups = try c.decodeIfPresent([[String]].self, forKey: .classGroups) ?? classGroups
        visual = try c.decodeIfPresent(Bool.self, forKey: .visual) ?? visual
        visualConfidence = try c.decodeIfPresent(Double.self, forKey: .visualConfidence) ?? visualConfidence
        visualWeight = try c.decodeIfPresent(Double.self, forKey: .visualWeight) ?? visualWeight
        visualMinSimilarity = try c.decodeIfPresent(Double.self, forKey: .visualMinSimilarity) ?? visualMinSimilarity
        for (key, value) in [(CodingKeys.visualWeight, visualWeight), (.visualMinSimilarity, visualMinSimilarity)]
        where !(0...1).contains(value) {
            throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "must be between 0 and 1")
        }
        let grouped = classGroups.flatMap { $0 }
        if let twice = grouped.first(where: { name in grouped.filter { $0 == name }.count > 1 }) {
            throw DecodingError.dataCorruptedError(
                forKey: .classGroups, in: c, debugDescription: "'\(twice)' is in more than one group")
        }
        if confirmHits < 1 {
            throw DecodingError.dataCorruptedError(forKey: .confirmHits, in: c, debugDescription: "must be at least 1")
        }
    }

    /// What is wrong with a tracker configuration, and at which key ("noise.position";
    /// empty for the whole of it).
    public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
        public var key: String
        public var reason: String
        public var description: String { key.isEmpty ? reason : "\(key): \(reason)" }
    }

    /// A configuration from a JSON object of tracker parameters, as `track --config`
    /// and the service's `tracker` key give it.
    public init(json: Data) throws(ReadError) {
        do {
            self = try JSONDecoder().decode(TrackerConfig.self, from: json)
        } catch let DecodingError.dataCorrupted(context), let DecodingError.typeMismatch(_, context) {
            throw ReadError(key: context.codingPath.map(\.stringValue).joined(separator: "."), reason: context.debugDescription)
        } catch {
            throw ReadError(key: "", reason: "must be an object of tracker parameters")
        }
    }

    /// Fails on a key of the object at `decoder` that is not in `known`.
    static func rejectUnknownKeys(_ decoder: any Decoder, known: [String]) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorruptedError(
                forKey: unknown, in: all,
                debugDescription: "unknown parameter '\(unknown.stringValue)'")
        }
    }
}

/// Any key of a JSON object, to list the keys it has.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
