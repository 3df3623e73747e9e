import Geometry
import Tracking

/// The track log, schema `trackd.tracklog/1`: JSON lines, a header first, one line per
/// processed frame, an end line last. See docs/track-log.md.
public enum TrackLogSchema {
    public static let major = 1
    public static let id = "trackd.tracklog/\(major)"

    /// The major version in a schema id, nil if it is not a track log's.
    static func major(of schema: String) -> Int? {
        guard schema.hasPrefix("trackd.tracklog/") else { return nil }
        let version = schema.dropFirst("trackd.tracklog/".count)
        return Int(version.split(separator: ".", maxSplits: 1).first ?? "")
    }
}

/// First line: what was tracked, how, and when.
public struct LogHeader: Codable, Sendable, Equatable {
    public var type = "header"
    public var schema = TrackLogSchema.id
    /// trackd's version.
    public var trackd: String
    /// Start of the run, ISO 8601 UTC.
    public var created: String
    public var source: Source
    public var video: Video
    public var detector: DetectorInfo
    public var tracker: TrackerConfig

    public struct Source: Codable, Sendable, Equatable {
        public var path: String
        /// Size in bytes, when the source is a file.
        public var bytes: Int64?
        public init(path: String, bytes: Int64?) {
            self.path = path
            self.bytes = bytes
        }
    }

    public struct Video: Codable, Sendable, Equatable {
        public var width: Int
        public var height: Int
        /// Nominal frames per second (0 when unknown).
        public var frameRate: Double
        /// The stream's time base, as "num/den".
        public var timeBase: String
        /// Degrees clockwise the picture is to be turned for display (the container's
        /// display matrix); absent when none. Boxes are in the picture as stored.
        public var rotation: Int?
        public init(width: Int, height: Int, frameRate: Double, timeBase: String, rotation: Int? = nil) {
            self.width = width
            self.height = height
            self.frameRate = frameRate
            self.timeBase = timeBase
            self.rotation = rotation
        }
    }

    public struct DetectorInfo: Codable, Sendable, Equatable {
        /// Model file, or the det.txt replayed.
        public var model: String
        /// What the model is, as trackd recognised it.
        public var kind: String
        public var classes: [String]
        public var confidence: Double
        public var iou: Double
        /// Every how many frames the detector ran.
        public var stride: Int
        /// Whether NMS compared only boxes of one class; absent for a replay and in
        /// logs of trackd before it had the choice (their NMS was per class).
        public var classAwareNMS: Bool?
        /// The model's input, [width, height], for this source (square, or fitted to
        /// its aspect ratio); absent for a model that takes the picture at its own
        /// size, for a replay, and in older logs.
        public var inputSize: [Int]?
        public init(
            model: String, kind: String, classes: [String], confidence: Double, iou: Double, stride: Int,
            classAwareNMS: Bool? = nil, inputSize: [Int]? = nil
        ) {
            self.model = model
            self.kind = kind
            self.classes = classes
            self.confidence = confidence
            self.iou = iou
            self.stride = stride
            self.classAwareNMS = classAwareNMS
            self.inputSize = inputSize
        }
    }

    public init(trackd: String, created: String, source: Source, video: Video, detector: DetectorInfo, tracker: TrackerConfig) {
        self.trackd = trackd
        self.created = created
        self.source = source
        self.video = video
        self.detector = detector
        self.tracker = tracker
    }
}

/// One processed frame and the tracks seen in it.
public struct LogFrame: Codable, Sendable, Equatable {
    public var type = "frame"
    /// Frame index in the video, from 0.
    public var frame: Int
    /// Presentation time in seconds.
    public var time: Double
    public var tracks: [LogTrack]

    public init(frame: Int, time: Double, tracks: [LogTrack]) {
        self.frame = frame
        self.time = time
        self.tracks = tracks
    }
}

public struct LogTrack: Codable, Sendable, Equatable {
    public var id: Int
    public var `class`: String
    public var classId: Int
    public var score: Double
    /// left, top, width, height in source pixels: the tracker's box, which may reach
    /// past the picture's edge (as MOTChallenge's ground truth does).
    public var box: [Double]
    /// `confirmed` for a track observed in the frame, `followed` for one its visual
    /// predictor placed, `interpolated` for a box filled in offline (`--refine`).
    public var state: String

    public init(id: Int, class name: String, classId: Int, score: Double, box: [Double], state: String) {
        self.id = id
        self.class = name
        self.classId = classId
        self.score = score
        self.box = box
        self.state = state
    }
}

/// Last line: how the run ended.
public struct LogEnd: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case complete, interrupted, failed
    }

    public var type = "end"
    public var status: Status
    /// Frames logged.
    public var frames: Int
    /// Distinct track ids logged.
    public var tracks: Int
    public var wallSeconds: Double
    /// Why the run failed, for `failed`.
    public var error: String?
    /// Frames of a live stream dropped because the detector fell behind.
    public var droppedFrames: Int?
    /// Frames whose container time repeated or went back, logged one frame duration
    /// after the previous frame instead (a damaged index).
    public var repairedTimes: Int?
    /// Frames the container's index declares that never decoded.
    public var missingFrames: Int?
    /// With analytics: the events this log holds, added up.
    public var analytics: EventTotals?

    public init(status: Status, frames: Int, tracks: Int, wallSeconds: Double, error: String? = nil) {
        self.status = status
        self.frames = frames
        self.tracks = tracks
        self.wallSeconds = wallSeconds
        self.error = error
    }
}

extension LogFrame {
    /// A processed frame as every output records it: the tracker's objects at the
    /// log's precision (box to 0.01 px, score to 0.001; state `followed` where the
    /// visual predictor placed it, else `confirmed`), those with no area inside the
    /// picture left out. `picture`: the video's size; 0 × 0 when unknown (a replay
    /// without seqinfo), then every box is kept.
    public init(frame: Int, time: Double, objects: [TrackedObject], classes: [String], picture: (width: Double, height: Double)) {
        self.init(
            frame: frame, time: time,
            tracks: objects.compactMap { o in
                guard o.box.width > 0, o.box.height > 0, Self.overlaps(o.box, picture) else { return nil }
                return LogTrack(
                    id: o.id, class: o.classID < classes.count ? classes[o.classID] : String(o.classID),
                    classId: o.classID, score: (o.score * 1000).rounded() / 1000,
                    box: o.box.leftTopWidthHeight.map { ($0 * 100).rounded() / 100 },
                    state: o.followed ? "followed" : "confirmed")
            })
    }

    private static func overlaps(_ b: Box, _ picture: (width: Double, height: Double)) -> Bool {
        guard picture.width > 0, picture.height > 0 else { return true }
        return b.x2 > 0 && b.y2 > 0 && b.x1 < picture.width && b.y1 < picture.height
    }
}

extension LogTrack {
    /// The box by its corners.
    public var rect: Box { Box(left: box[0], top: box[1], width: box[2], height: box[3]) }
}

public enum LogRecord: Sendable, Equatable {
    case header(LogHeader)
    case frame(LogFrame)
    case event(LogEvent)
    case end(LogEnd)
}
