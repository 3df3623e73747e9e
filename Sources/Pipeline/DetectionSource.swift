import Detection
import Foundation
import Geometry
import MOTFiles
import TrackLog
import Tracking
import VideoIO

/// One processed frame's detections, as the tracker takes them.
public struct DetectedFrame: Sendable {
    /// Frame index in the source, from 0.
    public var index: Int
    /// Presentation time in seconds.
    public var time: Double
    public var observations: [Observation]
    /// The decoded picture, when the source keeps pictures.
    public var picture: Picture?

    public init(index: Int, time: Double, observations: [Observation], picture: Picture? = nil) {
        self.index = index
        self.time = time
        self.observations = observations
        self.picture = picture
    }
}

/// Where a tracking run gets its frames' detections, and what it says about them in
/// the log header.
public protocol DetectionSource: AnyObject {
    var source: LogHeader.Source { get }
    var video: LogHeader.Video { get }
    var detector: LogHeader.DetectorInfo { get }
    /// Frames the run will probably process, for progress; nil when unknown.
    var expectedFrames: Int? { get }
    /// Whether its frames come with their decoded pictures (for visual predictors).
    var hasPictures: Bool { get }
    /// What decoding has met so far (damaged frames, repaired times, missing frames).
    var decodeStats: DecodeStats { get }
    /// The next frame's detections; nil at the end.
    func next() throws -> DetectedFrame?
    /// Stops any background work early.
    func cancel()
}

/// Which frames of a video to process.
public struct FrameSelection: Sendable {
    /// Process every `stride`-th frame (1: all).
    public var stride = 1
    /// Skip frames before this time (seconds).
    public var start: Double?
    /// Stop after this time (seconds).
    public var end: Double?
    /// Stop after this many frames processed (a recording that never ends).
    public var maxFrames: Int?
    /// Stop after this many seconds of work, on the wall clock.
    public var maxSeconds: Double?

    public init(stride: Int = 1, start: Double? = nil, end: Double? = nil, maxFrames: Int? = nil, maxSeconds: Double? = nil) {
        self.stride = stride
        self.start = start
        self.end = end
        self.maxFrames = maxFrames
        self.maxSeconds = maxSeconds
    }
}

/// Frames decoded on one thread, a few ahead of the detector (a bounded queue, so
/// memory stays flat), and detected on another, a frame ahead of the caller: the
/// caller's tracking of one frame overlaps the detection of the next, so the
/// detector is never idle while a frame is tracked and logged.
///
/// A `live` source (a stream) never makes the decoder wait: when the detector falls
/// behind, the oldest queued frame is dropped and counted; and frame times are
/// seconds on the monotonic clock since `clockOrigin`, since a stream's timestamps
/// restart when it reconnects.
public final class VideoSource: DetectionSource {
    public let source: LogHeader.Source
    public let video: LogHeader.Video
    public let detector: LogHeader.DetectorInfo
    public let expectedFrames: Int?
    public let hasPictures: Bool
    /// Where an http(s) source was read from in the end, after redirects.
    public let location: String?
    /// Frames decoded ahead; a live source's unconverted, converted once taken.
    private let queue: BoundedQueue<Queued>
    /// Frames detected ahead of the caller.
    private let detected: BoundedQueue<DetectedFrame>
    /// Signalled when the detecting thread has ended: the detector is the caller's
    /// again (a stream's next connection detects with it).
    private let detectorReleased = DispatchSemaphore(value: 0)
    private let reader: UncheckedSendable<FrameReader>
    private let drops = Locked(0)
    private let stats = Locked(DecodeStats())
    private let cancelled = StopSignal()
    private let stop: StopSignal?
    private let metrics: PipelineMetrics

    /// Frames dropped so far because the detector fell behind (live sources).
    public var droppedFrames: Int { drops.value }
    public var decodeStats: DecodeStats {
        var decoded = stats.value
        // Asked here: a live source's frames are converted on the caller's thread.
        decoded.framesConverted = reader.value.framesConverted
        return decoded
    }

    /// Opens the video (errors are thrown here, before any work) and starts decoding.
    /// `onFrameTaken` is told, on the detecting thread, each time a frame is taken from
    /// the decoder's queue: waiting on the source ends there, and trackd's own work on
    /// the frame begins (the service's stall watch).
    public init(
        path: String, detector model: any Detector, options: DetectorOptions, selection: FrameSelection = FrameSelection(),
        formatOptions: [String: String] = [:], queueCapacity: Int = 4, live: Bool = false, keepsPictures: Bool = false,
        clockOrigin: Double = monotonicSeconds(), stop: StopSignal? = nil,
        metrics: PipelineMetrics = PipelineMetrics(source: "track"), onFrameTaken: (@Sendable () -> Void)? = nil
    ) throws {
        precondition(selection.stride >= 1)
        var readerOptions = model.input.readerOptions()
        readerOptions.formatOptions = formatOptions
        // A stop request, or cancel(), ends any wait on the source at once (a silent
        // network stream would otherwise hold the open or the read until its timeout).
        let cancelled = self.cancelled
        readerOptions.interrupt = { cancelled.requested != nil || stop?.requested != nil }
        // One thread each: decoding runs beside the detector, which has the other
        // cores; more threads would only add contention and switching.
        readerOptions.decoderThreads = 1
        readerOptions.scalerThreads = 1
        readerOptions.keepsPictures = keepsPictures
        hasPictures = keepsPictures
        let reader = try FrameReader(path, options: readerOptions)
        let info = reader.info
        // The input shaped for this source's picture, now that its size is known.
        let model = try model.fitted(toWidth: info.width, height: info.height)
        try reader.setOutput(model.input.readerOptions().output)
        location = info.location
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.int64Value
        source = LogHeader.Source(
            path: path.contains("://") ? redactingCredentials(path) : URL(fileURLWithPath: path).standardizedFileURL.path,
            bytes: bytes)
        video = LogHeader.Video(
            width: info.width, height: info.height, frameRate: info.frameRate?.value ?? 0,
            timeBase: info.timeBase.description, rotation: info.rotation == 0 ? nil : info.rotation)
        detector = LogHeader.DetectorInfo(
            model: options.modelPath ?? "default", kind: model.summary, classes: model.classNames,
            confidence: options.confidence, iou: options.iou, stride: selection.stride,
            classAwareNMS: options.classAwareNMS, inputSize: model.input.size.map { [$0.width, $0.height] })
        let total = info.declaredFrameCount ?? info.duration.flatMap { d in info.frameRate.map { Int((d * $0.value).rounded()) } }
        let span = (selection.end ?? .infinity) - (selection.start ?? 0)
        let rate = info.frameRate?.value ?? 0
        let inRange = span.isFinite && rate > 0 ? min(total ?? .max, Int((span * rate).rounded(.up))) : total
        expectedFrames = inRange.map { ($0 + selection.stride - 1) / selection.stride }
        self.stop = stop
        self.metrics = metrics

        let queue = BoundedQueue<Queued>(capacity: queueCapacity)
        self.queue = queue
        let owned = UncheckedSendable(reader)
        self.reader = owned
        let drops = drops
        let stats = stats
        let decoding = Thread {
            let reader = owned.value
            var counted = 0
            var taken = 0
            let started = monotonicSeconds()
            func choose(_ info: FrameInfo) -> FrameReader.FrameChoice {
                if let end = selection.end, info.time > end { return .stop }
                if let most = selection.maxFrames, taken >= most { return .stop }
                if let most = selection.maxSeconds, monotonicSeconds() - started > most { return .stop }
                if let start = selection.start, info.time < start { return .skip }
                defer { counted += 1 }
                guard counted % selection.stride == 0 else { return .skip }
                taken += 1
                return .take
            }
            do {
                if live {
                    // Every frame is decoded, but converted only once the detector
                    // takes it: one the detector is too slow for costs its decode alone.
                    while let frame = try reader.nextDecodedFrame(choose) {
                        stats.value = reader.stats
                        metrics.decoded.increment()
                        guard let dropped = queue.pushDroppingOldest(.decoded(frame, time: monotonicSeconds() - clockOrigin))
                        else { return metrics.dropped.increment() }
                        drops.withLock { $0 += dropped }
                        if dropped > 0 { metrics.dropped.increment(by: dropped) }
                        metrics.queueDepth.record(queue.count)
                    }
                } else {
                    while let frame = try reader.nextFrame(choose) {
                        stats.value = reader.stats
                        metrics.decoded.increment()
                        guard queue.push(.converted(frame)) else { return metrics.dropped.increment() }
                        metrics.queueDepth.record(queue.count)
                    }
                }
                stats.value = reader.stats
                queue.close()
            } catch {
                stats.value = reader.stats
                queue.close(error: error)
            }
        }
        decoding.name = "trackd decoder"
        decoding.start()

        // One frame detected ahead is enough for the tracker to overlap the detector;
        // more would only hold pictures.
        let detected = BoundedQueue<DetectedFrame>(capacity: 1)
        self.detected = detected
        @Sendable func detect(with detector: any Detector) {
            do {
                while let queued = try queue.pop() {
                    metrics.queueDepth.record(queue.count)
                    // Asked again once the frame is in: waiting for it may have
                    // outlasted what the stop guards (a fleet's lease); the frame then
                    // counts as dropped.
                    if stop?.requested != nil {
                        metrics.dropped.increment()
                        break
                    }
                    onFrameTaken?()
                    var frame: Frame
                    switch queued {
                    case .converted(let converted): frame = converted
                    case .decoded(let decoded, let time):
                        frame = try owned.value.convert(decoded)
                        frame.info.time = time
                    }
                    let started = DispatchTime.now().uptimeNanoseconds
                    let observations = try detector.detect(frame)
                    metrics.detectorLatency.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - started))
                    let done = DetectedFrame(
                        index: frame.index, time: frame.time, observations: observations, picture: frame.picture)
                    guard detected.push(done) else {
                        metrics.dropped.increment()
                        break
                    }
                }
                detected.close()
            } catch {
                detected.close(error: error)
            }
        }
        let handed = Handoff(model)
        let released = detectorReleased
        let detecting = Thread {
            // The detector is let go before the signal: the caller may use it again,
            // or free it, from then on.
            detect(with: handed.take())
            released.signal()
        }
        detecting.name = "trackd detector"
        detecting.start()
    }

    /// Waits for the detecting thread to end (a frame's detection at most, once
    /// cancelled), so that whoever passed the detector may use it again.
    deinit {
        cancel()
        detectorReleased.wait()
    }

    /// The next frame's detections, after waiting for the decoder (and a live source)
    /// and the detector as long as it takes; nil at the end.
    public func next() throws -> DetectedFrame? {
        guard let frame = try detected.pop() else { return nil }
        // Asked again: the stop may have come while the frame waited for the caller.
        if stop?.requested != nil {
            metrics.dropped.increment()
            return nil
        }
        return frame
    }

    /// A frame in the queue: converted by the decoder's thread, or (from a live
    /// source) only decoded, with its time on the source's clock.
    private enum Queued: Sendable {
        case converted(Frame)
        case decoded(FrameReader.DecodedFrame, time: Double)
    }

    /// Frames decoded or detected ahead and never taken count as dropped.
    public func cancel() {
        cancelled.request(SIGTERM)
        let left = queue.cancel() + detected.cancel()
        if left > 0 { metrics.dropped.increment(by: left) }
    }
}

/// Detections replayed from a MOTChallenge det.txt: frames 1...N become indices
/// 0..<N at times (frame − 1) / fps, every detection a person (MOTChallenge's
/// detections are of pedestrians).
public final class ReplaySource: DetectionSource {
    public let source: LogHeader.Source
    public let video: LogHeader.Video
    public let detector: LogHeader.DetectorInfo
    public let expectedFrames: Int?
    private let replay: MOTDetections
    private let frameRate: Double
    private var frame = 0

    public init(path: String, sequence: SequenceInfo?, frameRate: Double) throws {
        replay = try MOTDetections(path: path)
        self.frameRate = sequence?.frameRate ?? frameRate
        let frames = max(sequence?.length ?? 0, replay.lastFrame, 1)
        expectedFrames = frames
        source = LogHeader.Source(path: URL(fileURLWithPath: path).standardizedFileURL.path, bytes: nil)
        video = LogHeader.Video(
            width: sequence?.width ?? 0, height: sequence?.height ?? 0, frameRate: self.frameRate,
            timeBase: "1/\(Int(self.frameRate.rounded()))")
        detector = LogHeader.DetectorInfo(
            model: source.path, kind: "MOTChallenge det.txt replay", classes: ["person"],
            confidence: 0, iou: 0, stride: 1)
    }

    public var decodeStats: DecodeStats { DecodeStats() }
    public var hasPictures: Bool { false }

    public func next() throws -> DetectedFrame? {
        guard frame < expectedFrames ?? 0 else { return nil }
        frame += 1
        return DetectedFrame(index: frame - 1, time: Double(frame - 1) / frameRate, observations: replay.detections(frame: frame))
    }

    public func cancel() {}
}

/// Hands a non-Sendable value to one other thread (the reader: decoding on one
/// thread, converting on another, as `FrameReader.convert` allows).
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
