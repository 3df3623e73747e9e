import CFFmpeg
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Decodes the best video stream of a file or URL with FFmpeg and converts each
/// frame to packed RGB24 or BGR24, at native size or letterboxed to a fixed size.
///
/// Frames come out in display order from `nextFrame()` until it returns `nil`.
/// Damaged packets or frames in the middle are skipped and counted in `stats`. If
/// the video ends early (a file cut short, a read error), every frame that could
/// be decoded is delivered first, then `nextFrame()` throws a `.truncated` error
/// that carries the count. All FFmpeg memory is freed when the reader is released.
public final class FrameReader {
    public enum OutputSize: Sendable, Equatable {
        /// The decoded picture's own size.
        case native
        /// Scaled to fit `width`×`height` with its aspect ratio kept, placed as
        /// `Options.letterboxAlignment` says, the rest filled with `Options.padValue`.
        case letterbox(width: Int, height: Int)
    }

    /// swscale's resampling filter. `bicubic` is what the ffmpeg CLI uses.
    public enum Scaling: String, Sendable, CaseIterable {
        case fastBilinear = "fast-bilinear"
        case bilinear, bicubic, area, point

        var swsFlags: Int32 {
            switch self {
            case .fastBilinear: SWS_FAST_BILINEAR
            case .bilinear: SWS_BILINEAR
            case .bicubic: SWS_BICUBIC
            case .area: SWS_AREA
            case .point: SWS_POINT
            }
        }
    }

    /// What to do with frames FFmpeg reports as damaged.
    public enum CorruptFramePolicy: Sendable {
        /// Stop decoding a frame at the first error and drop frames marked corrupt
        /// (the decoder's "explode" mode): no half-concealed pictures reach the caller.
        case skip
        /// Deliver concealed frames as the ffmpeg CLI does; they are still counted.
        case keep
    }

    public struct Options: Sendable {
        public var output: OutputSize = .native
        public var pixelFormat: PixelFormat = .rgb24
        /// Grey level of letterbox padding; 114 is what YOLO-family models expect.
        public var padValue: UInt8 = 114
        public var letterboxAlignment: Letterbox.Alignment = .center
        public var scaling: Scaling = .bicubic
        /// Decoder threads; 0 lets FFmpeg use every core.
        public var decoderThreads: Int = 0
        /// Threads for pixel conversion; 0 uses every core.
        public var scalerThreads: Int = 0
        public var corruptFrames: CorruptFramePolicy = .skip
        /// Also keep each delivered frame's decoded picture (`Frame.picture`), by
        /// reference: a snapshot of the source at its own size, made on demand.
        public var keepsPictures = false
        /// Options for the demuxer and protocol, as on the ffmpeg command line
        /// before `-i` (for example `rtsp_transport=tcp`, `timeout=5000000`). A network
        /// input without `timeout` or `rw_timeout` gets `networkTimeout`.
        public var formatOptions: [String: String] = [:]
        /// Asked while FFmpeg waits on the source (opening, reading a network stream):
        /// returning true abandons the wait, and the open or read fails.
        public var interrupt: (@Sendable () -> Bool)?

        public init() {}
    }

    public let info: MediaInfo
    public private(set) var options: Options
    /// What was decoded, skipped and repaired so far, and converted.
    public var stats: DecodeStats {
        var stats = tally
        stats.framesConverted = framesConverted
        return stats
    }
    /// `stats.framesConverted` alone: safe to ask from the thread that converts while
    /// another decodes.
    public var framesConverted: Int { conversions.withLock { $0 } }
    private var tally = DecodeStats()
    /// Counted apart: a live source converts on the thread that takes the frame.
    private let conversions = Mutex(0)

    /// Owns every FFmpeg object; created before anything can fail, so that its
    /// deinit frees them even when `init` throws (a class's own deinit would not run).
    private let objects = FFmpegObjects()
    private let scaler = Scaler()

    private enum State { case reading, draining, finished }
    private var state = State.reading
    /// Frames out of the decoder so far, delivered or skipped.
    private var decodedCount = 0
    private var lastTime: Double?
    /// Added to the container's times since the last one that went back.
    private var timeShift = 0.0
    /// A reason the input ended early, reported once the decoder is drained.
    private var earlyEnd: (message: String, code: Int32?)?
    private var lastVideoPacketWasCorrupt = false
    private var reportedEarlyEnd = false
    /// A network source's timeout in seconds (nil for a file), when the current wait
    /// for a packet began, and when a wait that long last ended: a read that fails
    /// after waiting that long, or in the burst of packets the demuxer hands out
    /// right after one that did (what it held when the input stopped), is a sender
    /// gone silent, not a damaged stream.
    private var networkWait: Double?
    private var waitingSince: Double?
    private var longWaitEndedAt: Double?

    /// Opens `source`, a path or any URL FFmpeg can open, and prepares its best
    /// video stream for decoding.
    public init(_ source: String, options: Options = Options()) throws {
        self.options = options
        try Self.check(options.output, source: source)

        _ = networkStarted
        _ = errorsCaptured
        trackd_clear_last_error()
        var dictionary: OpaquePointer?
        defer { av_dict_free(&dictionary) }
        let timeout = Self.defaultTimeout(for: source, given: options.formatOptions)
        for (key, value) in (options.formatOptions.merging(timeout.map { [$0.key: $0.value] } ?? [:]) { $1 })
            .sorted(by: { $0.key < $1.key })
        {
            av_dict_set(&dictionary, key, value, 0)
        }

        var fmt: UnsafeMutablePointer<AVFormatContext>?
        if let interrupt = options.interrupt {
            // FFmpeg calls this from inside blocking I/O; the box outlives the context.
            let box = InterruptBox(interrupt)
            objects.interrupt = box
            fmt = avformat_alloc_context()
            fmt?.pointee.interrupt_callback.callback = { opaque in
                guard let opaque else { return 0 }
                return Unmanaged<InterruptBox>.fromOpaque(opaque).takeUnretainedValue().check() ? 1 : 0
            }
            fmt?.pointee.interrupt_callback.opaque = Unmanaged.passUnretained(box).toOpaque()
        }
        // A local file is read through the descriptor trackd opened and checked.
        let local = try Self.openLocal(source, interrupt: options.interrupt)
        switch local {
        case .fifo(let fd): objects.fifo = fd
        case .file(let input):
            objects.input = input
            if fmt == nil { fmt = avformat_alloc_context() }
            fmt?.pointee.pb = input.context
            fmt?.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        case nil: break
        }
        let waitLimit = Self.waitLimit(for: source, given: options.formatOptions)
        networkWait = waitLimit
        let openStarted = monotonicSeconds()
        func openError(_ code: Int32) -> VideoError {
            var error = VideoError(opening: source, code: code, waited: monotonicSeconds() - openStarted, waitLimit: waitLimit)
            // A generic code (FFmpeg's Y4M reader says "Device or resource busy" for a
            // picture too large): FFmpeg's own words say why.
            let said = String(cString: trackd_last_error()).trimmingCharacters(in: .whitespacesAndNewlines)
            if error.kind == .readFailed, !said.isEmpty { error.message += " (FFmpeg: \(said))" }
            return error
        }
        let url: String
        if case .fifo(let fd) = local { url = "pipe:\(fd)" } else { url = ffmpegURL(source, existing: true) }
        let openCode = avformat_open_input(&fmt, url, nil, &dictionary)
        guard openCode == 0, let fmt else { throw openError(openCode) }
        objects.format = fmt
        // Whatever no demuxer or protocol took was misspelt or does not apply here
        // (a default of ours that does not apply is no one's mistake).
        let unused = Self.keys(of: dictionary).filter { $0 != timeout?.key }
        if !unused.isEmpty {
            throw VideoError(
                .invalidOption, source: source,
                message: "no FFmpeg component of this input takes the option(s) \(unused.joined(separator: ", "))")
        }

        let demuxer = String(cString: fmt.pointee.iformat.pointee.name)
        // FFmpeg's text demuxers "decode" any text file as ANSI-art frames.
        if ["tty", "bin", "xbin", "idf", "adf"].contains(demuxer) {
            throw VideoError(
                .notMediaFile, source: source, message: "FFmpeg can read it only as a text file (\(demuxer) demuxer)")
        }

        let infoCode = avformat_find_stream_info(fmt, nil)
        if infoCode < 0 { throw openError(infoCode) }

        var decoder: UnsafePointer<AVCodec>?
        var streamIndex = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0)
        // An attached picture (an MP3's or M4A's cover) is a video stream to FFmpeg, of
        // one frame: a video beside it is taken instead, and alone it is no video.
        let all = UnsafeBufferPointer(start: fmt.pointee.streams, count: Int(fmt.pointee.nb_streams))
        let isVideo = { (k: Int) in
            all[k].map {
                $0.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_VIDEO
                    && $0.pointee.disposition & AV_DISPOSITION_ATTACHED_PIC == 0
            }
                ?? false
        }
        if streamIndex >= 0, !isVideo(Int(streamIndex)) {
            guard let video = all.indices.first(where: isVideo) else {
                throw VideoError(
                    .noVideoStream, source: source, message: "its only picture is an attached cover picture, not a video")
            }
            streamIndex = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, Int32(video), -1, &decoder, 0)
        }
        if streamIndex == FFError.decoderNotFound {
            // Name the codec that is missing: the first video stream's.
            let streams = UnsafeBufferPointer(start: fmt.pointee.streams, count: Int(fmt.pointee.nb_streams))
            let par = streams.lazy.compactMap { $0?.pointee.codecpar }.first { $0.pointee.codec_type == AVMEDIA_TYPE_VIDEO }
            throw VideoError(
                .unsupportedCodec, source: source,
                message: "no decoder for \(par.map(Self.codecDescription) ?? "the video stream")",
                code: streamIndex)
        }
        if streamIndex < 0 { throw VideoError(opening: source, code: streamIndex) }
        guard let stream = fmt.pointee.streams[Int(streamIndex)], let decoder else {
            throw VideoError(.noVideoStream, source: source, message: "FFmpeg found no video stream")
        }
        let par = stream.pointee.codecpar!

        guard let ctx = avcodec_alloc_context3(decoder) else {
            throw VideoError(.readFailed, source: source, message: "out of memory")
        }
        objects.codec = ctx
        var code = avcodec_parameters_to_context(ctx, par)
        if code < 0 { throw VideoError(.unsupportedCodec, source: source, message: FFError.message(code), code: code) }
        ctx.pointee.pkt_timebase = stream.pointee.time_base
        ctx.pointee.thread_count = Int32(max(0, options.decoderThreads))
        ctx.pointee.thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE
        if options.corruptFrames == .skip {
            ctx.pointee.err_recognition |= AV_EF_EXPLODE
        }
        code = avcodec_open2(ctx, decoder, nil)
        if code < 0 {
            throw VideoError(
                .unsupportedCodec, source: source,
                message: "cannot open the \(Self.codecDescription(par)) decoder: \(FFError.message(code))", code: code)
        }
        guard par.pointee.width > 0, par.pointee.height > 0 else {
            throw VideoError(.notMediaFile, source: source, message: "the video stream has no picture size")
        }

        objects.packet = av_packet_alloc()
        objects.frame = av_frame_alloc()
        objects.destination = av_frame_alloc()
        guard objects.packet != nil, objects.frame != nil, objects.destination != nil else {
            throw VideoError(.readFailed, source: source, message: "out of memory")
        }

        let streams = UnsafeBufferPointer(start: fmt.pointee.streams, count: Int(fmt.pointee.nb_streams))
        info = MediaInfo(
            source: source,
            container: demuxer,
            containerLongName: String(cString: fmt.pointee.iformat.pointee.long_name, or: demuxer),
            codec: String(cString: avcodec_get_name(par.pointee.codec_id)),
            codecLongName: String(cString: decoder.pointee.long_name, or: String(cString: decoder.pointee.name)),
            profile: avcodec_profile_name(par.pointee.codec_id, par.pointee.profile).map { String(cString: $0) },
            pixelFormat: av_get_pix_fmt_name(AVPixelFormat(par.pointee.format)).map { String(cString: $0) },
            width: Int(par.pointee.width),
            height: Int(par.pointee.height),
            frameRate: Self.frameRate(of: stream),
            timeBase: Rational(Int(stream.pointee.time_base.num), Int(stream.pointee.time_base.den)),
            duration: Self.duration(of: stream, in: fmt),
            declaredFrameCount: Self.declaredFrames(of: stream, demuxer: demuxer),
            streamIndex: Int(streamIndex),
            audioStreamCount: streams.filter { $0?.pointee.codecpar.pointee.codec_type == AVMEDIA_TYPE_AUDIO }.count,
            rotation: Self.rotation(of: stream),
            location: source.lowercased().hasPrefix("http") && source.contains("://") ? Self.location(of: fmt) : nil
        )
    }

    /// Decodes the next frame and converts its pixels; `nil` after the last one.
    public func nextFrame() throws -> Frame? {
        try nextFrame { _ in .take }
    }

    /// What to do with a decoded frame, decided from its index and time.
    public enum FrameChoice: Sendable {
        case take, skip, stop
    }

    /// Decodes frames until `choose` takes one, and converts only that one: frames
    /// skipped (outside a time range, between strides) cost no pixel conversion.
    /// `nil` after the last frame or when `choose` says stop.
    public func nextFrame(_ choose: (FrameInfo) throws -> FrameChoice) throws -> Frame? {
        while let info = try decodeNext() {
            defer { av_frame_unref(objects.frame) }
            switch try choose(info) {
            case .take:
                let (image, letterbox) = try convert(objects.frame!)
                let picture = options.keepsPictures ? Picture(referencing: objects.frame!) : nil
                return Frame(info: info, image: image, letterbox: letterbox, picture: picture)
            case .skip: continue
            case .stop: return nil
            }
        }
        return nil
    }

    /// A decoded frame whose pixels are not converted yet: the decoder's picture, held
    /// by reference.
    public struct DecodedFrame: Sendable {
        public let info: FrameInfo
        let picture: Picture
    }

    /// As `nextFrame`, but the frame taken is handed out unconverted, for `convert` to
    /// convert later, on another thread: a live source decodes every frame, and only
    /// those the detector takes are worth converting.
    public func nextDecodedFrame(_ choose: (FrameInfo) throws -> FrameChoice) throws -> DecodedFrame? {
        while let info = try decodeNext() {
            defer { av_frame_unref(objects.frame) }
            switch try choose(info) {
            case .take:
                guard let picture = Picture(referencing: objects.frame!) else {
                    throw VideoError(.readFailed, source: self.info.source, message: "out of memory")
                }
                return DecodedFrame(info: info, picture: picture)
            case .skip: continue
            case .stop: return nil
            }
        }
        return nil
    }

    /// Converts a frame `nextDecodedFrame` handed out, as `nextFrame` would have. It
    /// may run on another thread than the decoding, one conversion at a time; a reader
    /// whose frames are converted here should not also deliver them by `nextFrame`.
    public func convert(_ decoded: DecodedFrame) throws -> Frame {
        guard let source = decoded.picture.frame else {
            throw VideoError(.readFailed, source: info.source, message: "the decoded picture is gone")
        }
        let (image, letterbox) = try convert(source)
        return Frame(
            info: decoded.info, image: image, letterbox: letterbox, picture: options.keepsPictures ? decoded.picture : nil)
    }

    /// Decodes the next frame without converting its pixels (for counting and
    /// timestamps); `nil` after the last one.
    public func nextFrameInfo() throws -> FrameInfo? {
        guard let info = try decodeNext() else { return nil }
        av_frame_unref(objects.frame)
        return info
    }

    // MARK: Decoding

    /// Runs the send-packet / receive-frame loop until the decoder hands out a frame
    /// worth delivering; it is then in `frame`.
    private func decodeNext() throws -> FrameInfo? {
        guard let ctx = objects.codec, let frame = objects.frame else { return nil }
        while state != .finished {
            let code = avcodec_receive_frame(ctx, frame)
            if code == 0 {
                let index = decodedCount
                decodedCount += 1
                let damaged = frame.pointee.flags & AV_FRAME_FLAG_CORRUPT != 0 || frame.pointee.decode_error_flags != 0
                if damaged {
                    tally.corruptFrames += 1
                    tally.lastProblem = "frame \(index) decoded with errors"
                    if options.corruptFrames == .skip {
                        av_frame_unref(frame)
                        continue
                    }
                }
                tally.framesDelivered += 1
                return frameInfo(frame, index: index)
            } else if code == FFError.eof {
                state = .finished
            } else if code == FFError.again {
                if state == .draining {
                    state = .finished  // A drained decoder asking for input has nothing left.
                } else {
                    try sendNextPacket()
                }
            } else {
                // The decoder gave up on a frame (with frame threads, errors in a
                // packet surface here); the next frame may decode fine.
                tally.corruptFrames += 1
                tally.lastProblem = FFError.message(code)
            }
        }
        try reportEarlyEnd()
        return nil
    }

    /// Feeds the decoder the next packet of the video stream, or the flush packet
    /// at the end of the input.
    private func sendNextPacket() throws {
        guard let fmt = objects.format, let ctx = objects.codec, let packet = objects.packet else { return }
        while true {
            if waitingSince == nil { waitingSince = monotonicSeconds() }
            let code = av_read_frame(fmt, packet)
            let waited = monotonicSeconds() - (waitingSince ?? 0)
            if code == FFError.again {
                usleep(5_000)  // A non-blocking source has no data yet.
                continue
            }
            if code < 0 {
                if code != FFError.eof { earlyEnd = (FFError.message(code), code) }
                if let wait = networkWait,
                    waited >= wait * 0.9 || longWaitEndedAt.map({ monotonicSeconds() - $0 < 1 }) == true
                {
                    let seconds = wait == wait.rounded() ? String(Int(wait)) : String(wait)
                    throw VideoError(
                        .timedOut, source: info.source,
                        message:
                            "nothing received in \(seconds) s after \(tally.framesDelivered) frames (\(FFError.message(code)))",
                        code: code, framesDecoded: tally.framesDelivered)
                }
                avcodec_send_packet(ctx, nil)
                state = .draining
                return
            }
            defer { av_packet_unref(packet) }
            if let wait = networkWait, waited >= wait * 0.9 { longWaitEndedAt = monotonicSeconds() }
            waitingSince = nil
            guard packet.pointee.stream_index == Int32(info.streamIndex) else { continue }

            lastVideoPacketWasCorrupt = packet.pointee.flags & AV_PKT_FLAG_CORRUPT != 0
            if lastVideoPacketWasCorrupt {
                tally.corruptPackets += 1
                tally.lastProblem = "damaged packet at byte \(packet.pointee.pos)"
                if options.corruptFrames == .skip { continue }
            }
            let sent = avcodec_send_packet(ctx, packet)
            if sent == 0 { return }
            // Only an input the decoder cannot parse lands here; skip the packet.
            tally.corruptPackets += 1
            tally.lastProblem = FFError.message(sent)
        }
    }

    /// Throws `.truncated` if the input ended before the video did: a read error, a
    /// short last packet, or fewer frames than the container's index declares.
    private func reportEarlyEnd() throws {
        guard !reportedEarlyEnd else { return }
        reportedEarlyEnd = true
        var reason = earlyEnd
        if reason == nil, lastVideoPacketWasCorrupt {
            reason = ("the last packet is incomplete", nil)
        }
        if reason == nil, info.container.hasPrefix("matroska"), access(info.source, F_OK) == 0,
            let declared = MatroskaSegment.declaredEnd(ofFile: info.source),
            let size = objects.format.map({ avio_size($0.pointee.pb) }),
            size >= 0, size < declared
        {
            reason = ("the file ends at byte \(size) of the \(declared) its Matroska segment declares", nil)
        }
        if reason == nil, let declared = info.declaredFrameCount {
            // Edit lists may hide a few frames at the start; more than that is missing
            // data. Fewer are counted, so that they are not lost without a word.
            let seen = decodedCount + tally.corruptPackets
            if declared - seen > max(2, declared / 100) {
                reason = ("the container's index lists \(declared) frames", nil)
            } else {
                tally.missingFrames = max(0, declared - seen)
            }
        }
        guard let reason else { return }
        throw VideoError(
            .truncated, source: info.source,
            message: "decoding stopped after \(tally.framesDelivered) frames (\(reason.message))",
            code: reason.code, framesDecoded: tally.framesDelivered)
    }

    private func frameInfo(_ frame: UnsafeMutablePointer<AVFrame>, index: Int) -> FrameInfo {
        let f = frame.pointee
        let pts = f.best_effort_timestamp != noPTS ? f.best_effort_timestamp : (f.pts != noPTS ? f.pts : nil)
        let duration =
            f.pkt_duration > 0
            ? Double(f.pkt_duration) * info.timeBase.value
            : 1 / (info.frameRate.map { $0.value > 0 ? $0.value : 25 } ?? 25)
        var time: Double
        if let pts {
            time = Double(pts) * info.timeBase.value
        } else {
            // No timestamp: one frame duration after the previous frame.
            time = lastTime.map { $0 + duration } ?? 0
        }
        time += timeShift
        if let lastTime, time < lastTime + 1e-6 {
            // A time that repeats or goes back (a damaged index, timestamps that
            // restart) would give the tracker no time step or a negative one: the frame
            // comes one duration after the previous one, and later frames keep their
            // own spacing from there.
            timeShift += lastTime + duration - time
            time = lastTime + duration
            tally.repairedTimes += 1
        }
        lastTime = time
        return FrameInfo(
            index: index, time: time, pts: pts,
            sourceWidth: Int(f.width), sourceHeight: Int(f.height))
    }

    /// Delivers the frames that follow at `output`: a size chosen once the source's
    /// own is known (`info`).
    public func setOutput(_ output: OutputSize) throws {
        try Self.check(output, source: info.source)
        options.output = output
    }

    private static func check(_ output: OutputSize, source: String) throws {
        if case .letterbox(let w, let h) = output, w <= 0 || h <= 0 {
            throw VideoError(.invalidOption, source: source, message: "letterbox size must be positive, got \(w)x\(h)")
        }
    }

    // MARK: Conversion

    private func convert(_ frame: UnsafeMutablePointer<AVFrame>) throws -> (Image, Letterbox?) {
        let sw = Int(frame.pointee.width)
        let sh = Int(frame.pointee.height)
        let letterbox: Letterbox?
        let (width, height): (Int, Int)
        switch options.output {
        case .native:
            letterbox = nil
            (width, height) = (sw, sh)
        case .letterbox(let w, let h):
            let box = Letterbox(sourceWidth: sw, sourceHeight: sh, width: w, height: h, alignment: options.letterboxAlignment)
            letterbox = box
            (width, height) = (w, h)
        }
        let image = try Self.image(
            of: frame, width: width, height: height, letterbox: letterbox, options: options, scaler: scaler,
            destination: objects.destination!, source: info.source)
        conversions.withLock { $0 += 1 }
        return (image, letterbox)
    }

    /// `frame` converted into a `width`×`height` image of `options.pixelFormat`: the
    /// picture fills it, or lies in `letterbox` with the padding around it.
    static func image(
        of frame: UnsafeMutablePointer<AVFrame>, width: Int, height: Int, letterbox: Letterbox?, options: Options,
        scaler: Scaler, destination: UnsafeMutablePointer<AVFrame>, source: String
    ) throws -> Image {
        let content =
            letterbox.map { (w: $0.contentWidth, h: $0.contentHeight, x: $0.padLeft, y: $0.padTop) }
            ?? (w: width, h: height, x: 0, y: 0)
        let stride = width * options.pixelFormat.bytesPerPixel
        var failure: Int32 = 0
        let pixels = try [UInt8](unsafeUninitializedCapacity: stride * height) { buffer, count in
            let base = buffer.baseAddress!
            if let box = letterbox {
                fillPadding(base, box: box, stride: stride, value: options.padValue)
            }
            let target = base + content.y * stride + content.x * options.pixelFormat.bytesPerPixel
            failure = try scaler.scale(
                frame, into: target, bufferSize: buffer.count - (target - base),
                width: content.w, height: content.h, stride: stride,
                options: options, destination: destination, source: source)
            count = failure == 0 ? buffer.count : 0
        }
        if failure < 0 {
            throw VideoError(
                .readFailed, source: source, message: "pixel conversion failed: \(FFError.message(failure))", code: failure)
        }
        return Image(width: width, height: height, pixelFormat: options.pixelFormat, pixels: pixels)
    }

    static func fillPadding(_ base: UnsafeMutablePointer<UInt8>, box: Letterbox, stride: Int, value: UInt8) {
        let bpp = 3
        memset(base, Int32(value), box.padTop * stride)
        memset(base + (box.padTop + box.contentHeight) * stride, Int32(value), box.padBottom * stride)
        guard box.padLeft + box.padRight > 0 else { return }
        for row in box.padTop..<(box.padTop + box.contentHeight) {
            let line = base + row * stride
            memset(line, Int32(value), box.padLeft * bpp)
            memset(line + (box.padLeft + box.contentWidth) * bpp, Int32(value), box.padRight * bpp)
        }
    }

    // MARK: Stream facts

    /// How long a network read may wait for data before the input fails, where the
    /// caller sets no timeout: a silent sender is noticed, not waited for forever.
    public static let networkTimeout = 5.0

    /// The keys among `keys` that no demuxer or protocol of this FFmpeg build takes,
    /// sorted: such an option would make every open fail, so a configuration can be
    /// checked before any source is opened (as the ffmpeg CLI checks its options).
    /// An option that some component takes but not the one a source ends up using
    /// is still reported when that source is opened.
    public static func optionsNoComponentTakes(_ keys: some Sequence<String>) -> [String] {
        keys.filter { key in
            var formatClass = avformat_get_class()
            return withUnsafeMutablePointer(to: &formatClass) { fake in
                av_opt_find(UnsafeMutableRawPointer(fake), key, nil, 0, AV_OPT_SEARCH_CHILDREN | AV_OPT_SEARCH_FAKE_OBJ) == nil
            }
        }.sorted()
    }

    /// The option that bounds waits on `source`'s protocol at `networkTimeout`; nil for
    /// a file, or when `given` sets a timeout of its own. UDP (read through its own
    /// receiving thread) and RTSP honour only their own `timeout`; every other
    /// protocol FFmpeg's generic `rw_timeout`.
    static func defaultTimeout(for source: String, given: [String: String]) -> (key: String, value: String)? {
        guard let scheme = networkScheme(of: source), !timeoutKeys.contains(where: { given[$0] != nil }) else { return nil }
        let key = ["udp", "rtp", "rtsp", "rtsps"].contains(scheme) ? "timeout" : "rw_timeout"
        return (key, String(Int(networkTimeout * 1_000_000)))
    }

    /// The options by which a caller bounds a network wait, in microseconds.
    private static let timeoutKeys = ["timeout", "rw_timeout", "stimeout"]

    /// The lower-cased scheme of a URL source; nil for a path or a `file://` URL.
    private static func networkScheme(of source: String) -> String? {
        guard let separator = source.range(of: "://") else { return nil }
        let scheme = source[..<separator.lowerBound].lowercased()
        return scheme == "file" ? nil : scheme
    }

    /// How long, in seconds, a network `source` waits for data: the caller's own
    /// timeout option (microseconds, as FFmpeg takes it) or `networkTimeout`; nil for
    /// anything but a URL.
    static func waitLimit(for source: String, given: [String: String]) -> Double? {
        guard networkScheme(of: source) != nil else { return nil }
        let own = timeoutKeys.lazy.compactMap { given[$0].flatMap(Double.init) }.first { $0 > 0 }
        return own.map { $0 / 1_000_000 } ?? networkTimeout
    }

    /// A local input, opened by trackd: a FIFO read through `pipe:N`, or a regular
    /// file read through `FileInput`.
    enum LocalInput {
        case fifo(Int32)
        case file(FileInput)
    }

    /// FFmpeg opens a file with a blocking open(2) that no interrupt callback reaches,
    /// so a FIFO without a writer — given, or put in a regular file's place between a
    /// check and the open — would hold the caller for good. A local path is opened
    /// here, non-blocking (which returns at once for a FIFO), and what the descriptor
    /// is, not what the path was a moment before, decides: a regular file is read
    /// through that descriptor; for a FIFO this waits, asking `interrupt` every 0.1 s,
    /// until a writer has sent data or come and gone, and hands FFmpeg that
    /// descriptor, made blocking again (opening the path again would block for good
    /// once the writer has left, however much it wrote). Nil for a URL, a name that is
    /// not there, a directory or a device: FFmpeg opens those and names what is wrong.
    static func openLocal(_ source: String, interrupt: (@Sendable () -> Bool)?) throws -> LocalInput? {
        var status = stat()
        guard !source.contains("://"), stat(source, &status) == 0,
            [S_IFIFO, S_IFREG].contains(status.st_mode & S_IFMT)
        else { return nil }
        let fd = open(source, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw VideoError(opening: source, code: FFError.posix(errno)) }
        guard fstat(fd, &status) == 0 else {
            let code = FFError.posix(errno)
            close(fd)
            throw VideoError(opening: source, code: code)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            guard let input = FileInput(fd) else {
                close(fd)
                throw VideoError(.readFailed, source: source, message: "out of memory")
            }
            return .file(input)
        case S_IFIFO: break
        default:
            close(fd)
            throw VideoError(.notMediaFile, source: source, message: "it is no longer a regular file or a FIFO")
        }
        var wait = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            if interrupt?() == true {
                close(fd)
                throw VideoError(opening: source, code: FFError.exit)
            }
            // Linux reports POLLHUP on a FIFO only once a writer has come and gone
            // since this open, so a FIFO that never had one keeps the wait going.
            if poll(&wait, 1, 100) > 0, wait.revents != 0 { break }
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .fifo(fd)
    }

    private static func keys(of dictionary: OpaquePointer?) -> [String] {
        var keys: [String] = []
        var entry: UnsafeMutablePointer<AVDictionaryEntry>?
        while let next = av_dict_get(dictionary, "", entry, AV_DICT_IGNORE_SUFFIX) {
            keys.append(String(cString: next.pointee.key))
            entry = next
        }
        return keys
    }

    private static func codecDescription(_ par: UnsafeMutablePointer<AVCodecParameters>) -> String {
        let name = String(cString: avcodec_get_name(par.pointee.codec_id))
        let tag = par.pointee.codec_tag
        guard tag != 0 else { return "codec \(name)" }
        let fourcc = (0..<4).map { i -> Character in
            let byte = UInt8((tag >> (8 * UInt32(i))) & 0xff)
            return (32..<127).contains(byte) ? Character(UnicodeScalar(byte)) : "?"
        }
        return "codec \(name) (fourcc \(String(fourcc)))"
    }

    /// The frame count the container declares. An AVI's header counts in its
    /// stream's time-base units, which are not frames when the muxer chose a finer
    /// base (`ffmpeg -c copy` of B-frame video to AVI: 100 "frames" for 50); its index
    /// (`idx1`, at the end of the file, so present only in a whole file) lists the
    /// packets themselves, and is taken instead when it has been read.
    private static func declaredFrames(of stream: UnsafeMutablePointer<AVStream>, demuxer: String) -> Int? {
        let indexed = Int(avformat_index_get_entries_count(stream))
        if demuxer == "avi", indexed > 0 { return indexed }
        return stream.pointee.nb_frames > 0 ? Int(stream.pointee.nb_frames) : nil
    }

    /// The URL an http(s) input was finally read from (FFmpeg's `location`, which
    /// follows redirects). Only for FFmpeg's own I/O: a context of trackd's has no
    /// protocol beneath it to ask.
    private static func location(of fmt: UnsafeMutablePointer<AVFormatContext>) -> String? {
        guard let pb = fmt.pointee.pb else { return nil }
        var value: UnsafeMutablePointer<UInt8>?
        guard av_opt_get(pb, "location", AV_OPT_SEARCH_CHILDREN, &value) >= 0, let value else { return nil }
        defer { av_free(value) }
        return String(cString: value)
    }

    /// The display matrix's turn, clockwise, in whole degrees from 0 to 359.
    private static func rotation(of stream: UnsafeMutablePointer<AVStream>) -> Int {
        let counterclockwise = trackd_display_rotation(stream)
        guard counterclockwise.isFinite else { return 0 }
        let degrees = Int((-counterclockwise).rounded()) % 360
        return degrees < 0 ? degrees + 360 : degrees
    }

    private static func frameRate(of stream: UnsafeMutablePointer<AVStream>) -> Rational? {
        for rate in [stream.pointee.avg_frame_rate, stream.pointee.r_frame_rate] where rate.num > 0 && rate.den > 0 {
            return Rational(Int(rate.num), Int(rate.den))
        }
        return nil
    }

    private static func duration(of stream: UnsafeMutablePointer<AVStream>, in fmt: UnsafeMutablePointer<AVFormatContext>)
        -> Double?
    {
        if stream.pointee.duration != noPTS, stream.pointee.duration > 0 {
            return Double(stream.pointee.duration) * av_q2d(stream.pointee.time_base)
        }
        if fmt.pointee.duration != noPTS, fmt.pointee.duration > 0 {
            return Double(fmt.pointee.duration) / Double(AV_TIME_BASE)
        }
        return nil
    }
}

/// FFmpeg's network layer (TLS libraries and friends), started once per process
/// before the first URL is opened; Swift runs a global's initializer exactly once.
private let networkStarted: Void = { avformat_network_init() }()

/// FFmpeg's error messages kept per thread (`trackd_last_error`), set once per process.
private let errorsCaptured: Void = { trackd_capture_errors() }()

/// The interrupt check, where FFmpeg's C callback can reach it.
private final class InterruptBox {
    let check: @Sendable () -> Bool
    init(_ check: @escaping @Sendable () -> Bool) { self.check = check }
}

/// The FFmpeg objects behind one reader, freed together.
private final class FFmpegObjects {
    var format: UnsafeMutablePointer<AVFormatContext>?
    var codec: UnsafeMutablePointer<AVCodecContext>?
    var packet: UnsafeMutablePointer<AVPacket>?
    var frame: UnsafeMutablePointer<AVFrame>?
    /// Describes the caller's buffer to swscale; owns no pixels.
    var destination: UnsafeMutablePointer<AVFrame>?
    /// The interrupt check the format context calls; released after the context.
    var interrupt: InterruptBox?
    /// A FIFO's read end, read by FFmpeg's `pipe:` protocol (which never closes it).
    var fifo: Int32?
    /// A regular file's reader; FFmpeg never frees a context it was given.
    var input: FileInput?

    deinit {
        av_frame_free(&destination)
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        avformat_close_input(&format)
        interrupt = nil
        input = nil
        if let fifo { close(fifo) }
    }
}

/// A regular file FFmpeg reads through the descriptor trackd opened (an I/O context
/// of trackd's over read(2) and lseek(2)); the file's name still tells FFmpeg's
/// probe its extension.
final class FileInput {
    let fd: Int32
    private(set) var context: UnsafeMutablePointer<AVIOContext>?

    init?(_ fd: Int32) {
        self.fd = fd
        let size: Int32 = 1 << 16
        guard let buffer = av_malloc(Int(size))?.assumingMemoryBound(to: UInt8.self) else { return nil }
        context = avio_alloc_context(
            buffer, size, 0, nil,
            { opaque, buffer, size in
                guard let opaque, let buffer else { return FFError.posix(EINVAL) }
                let fd = Unmanaged<FileInput>.fromOpaque(opaque).takeUnretainedValue().fd
                while true {
                    let n = read(fd, buffer, Int(size))
                    if n > 0 { return Int32(n) }
                    if n == 0 { return FFError.eof }
                    if errno != EINTR { return FFError.posix(errno) }
                }
            }, nil,
            { opaque, offset, whence in
                guard let opaque else { return Int64(FFError.posix(EINVAL)) }
                let fd = Unmanaged<FileInput>.fromOpaque(opaque).takeUnretainedValue().fd
                if whence & AVSEEK_SIZE != 0 {
                    var status = stat()
                    return fstat(fd, &status) == 0 ? Int64(status.st_size) : Int64(FFError.posix(errno))
                }
                let at = lseek(fd, off_t(offset), whence & ~AVSEEK_FORCE)
                return at < 0 ? Int64(FFError.posix(errno)) : Int64(at)
            })
        guard context != nil else {
            av_free(buffer)
            return nil
        }
        context?.pointee.opaque = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        if context != nil { av_freep(&context!.pointee.buffer) }
        avio_context_free(&context)
        close(fd)
    }
}
