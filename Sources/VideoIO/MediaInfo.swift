/// A ratio of two integers, as FFmpeg keeps frame rates and time bases.
public struct Rational: Sendable, Equatable, Codable, CustomStringConvertible {
    public var numerator: Int
    public var denominator: Int

    public init(_ numerator: Int, _ denominator: Int) {
        self.numerator = numerator
        self.denominator = denominator
    }

    public var value: Double { denominator == 0 ? 0 : Double(numerator) / Double(denominator) }
    public var description: String { "\(numerator)/\(denominator)" }
}

/// What the container says about a video, read when it is opened.
public struct MediaInfo: Sendable, Equatable {
    /// The path or URL that was opened.
    public var source: String
    /// FFmpeg's demuxer names, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, and its description.
    public var container: String
    public var containerLongName: String
    /// FFmpeg's codec name, e.g. `h264`, and its description.
    public var codec: String
    public var codecLongName: String
    public var profile: String?
    public var pixelFormat: String?
    public var width: Int
    public var height: Int
    /// Average frame rate if the container knows it, else FFmpeg's guess
    /// (`r_frame_rate`); `nil` when neither is known.
    public var frameRate: Rational?
    public var timeBase: Rational
    /// Duration in seconds of the video stream, else of the whole file; `nil` for
    /// live sources.
    public var duration: Double?
    /// Frames the container's index declares (MP4, AVI); `nil` when it has no count.
    public var declaredFrameCount: Int?
    /// Index of the chosen stream among all streams in the file.
    public var streamIndex: Int
    public var audioStreamCount: Int
    /// Degrees clockwise (90, 180, 270) the picture is to be turned for display, as
    /// the container's display matrix says (a phone's portrait video is stored
    /// landscape); 0 without one. Frames are read as stored, not turned.
    public var rotation = 0
    /// Where an http(s) source was read from in the end, after redirects; nil for
    /// anything else.
    public var location: String?
}

/// Problems met while reading that did not stop it.
public struct DecodeStats: Sendable, Equatable {
    /// Frames delivered to the caller.
    public var framesDelivered = 0
    /// Frames whose pixels were converted to the output (scaled, letterboxed): those
    /// taken, not those skipped between strides or dropped unconverted by a live
    /// source.
    public var framesConverted = 0
    /// Packets of the video stream the demuxer marked damaged, or the decoder rejected.
    public var corruptPackets = 0
    /// Frames the decoder flagged as damaged (concealed errors) or failed to produce.
    public var corruptFrames = 0
    /// FFmpeg's message for the most recent of those problems.
    public var lastProblem: String?
    /// Frames whose container time repeated or went back (a damaged index), given the
    /// previous frame's time plus one frame duration instead.
    public var repairedTimes = 0
    /// Frames the container's index declares that never came out of the decoder,
    /// when too few to call the video truncated (a damaged index); known at the end.
    public var missingFrames = 0

    public var skippedAnything: Bool { corruptPackets + corruptFrames > 0 }

    public init() {}
}
