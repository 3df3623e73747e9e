/// Every tracker parameter, with its default. Times are in seconds, so the same
/// configuration works at any frame rate.
public struct TrackerConfig: Sendable, Equatable, Codable {
    /// Detections at or above this score take part in the first association and may
    /// start tracks (BYTE's high-score set).
    public var highScore = 0.6
    /// Detections between this and `highScore` only extend tracks that were visible
    /// in the previous frame (BYTE's second pass); below it they are dropped.
    public var lowScore = 0.1
    /// A new track starts only from a detection at or above this score.
    public var newTrackScore = 0.7
    /// Least IoU between a track's predicted box and a high-score detection.
    public var matchIoU = 0.2
    /// Least IoU in the second pass, where detections are less trustworthy.
    public var lowScoreMatchIoU = 0.5
    /// Least IoU between a tentative track and a detection.
    public var tentativeMatchIoU = 0.3
    /// Weight of the motion-direction term (OC-SORT's velocity consistency): a
    /// detection in the direction a track has been moving costs up to
    /// `directionWeight/2 × score` less, one in the opposite direction that much more.
    public var directionWeight = 0.2
    /// How far back, in seconds, the track's own direction of motion is measured.
    public var directionSpan = 0.1
    /// Consecutive observations that confirm a tentative track.
    public var confirmHits = 2
    /// How long a confirmed track may go unseen before it is removed.
    public var maxLostSeconds = 1.0
    /// Kalman filter noise.
    public var noise = BoxFilter.Noise()
    /// Only associate detections with tracks of the same class.
    public var perClass = false

    public init() {}
}
