import CFFmpeg
import Foundation

/// Encodes RGB24 pictures into a video file with libavcodec: H.264 (libx264) when
/// this FFmpeg has it, else MPEG-4 Part 2; the container follows the file name
/// (`.mp4`, `.mkv`, `.avi`, ...). Timestamps are the pictures' own times, in
/// milliseconds, so variable frame rates survive.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    /// The encoder in use, e.g. `libx264`.
    public let codecName: String
    private var format: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var stream: UnsafeMutablePointer<AVStream>?
    private var frame: UnsafeMutablePointer<AVFrame>?
    private var packet: UnsafeMutablePointer<AVPacket>?
    private var scaler: OpaquePointer?
    private var lastPTS: Int64 = -1
    /// One frame's duration in milliseconds, for packets the encoder leaves without
    /// one (MP4 readers drop a last frame of duration zero).
    private let frameDuration: Int64
    private var finished = false

    /// The `path` that means standard output.
    public static let standardOutput = "-"

    /// How the container is chosen.
    public enum Container: Sendable {
        /// By a file name's extension: `path`'s own when nil.
        case forFileName(String?)
        /// By FFmpeg's short name (`matroska`).
        case named(String)
    }

    /// Opens `path` for a `width`×`height` video at about `frameRate` frames per second.
    public init(path: String, width: Int, height: Int, frameRate: Double, container: Container = .forFileName(nil)) throws {
        self.path = path
        self.width = width
        self.height = height
        frameDuration = Int64((1000 / (frameRate > 0 ? frameRate : 25)).rounded())
        guard width > 1, height > 1 else {
            throw VideoError(.invalidOption, source: path, message: "size \(width)x\(height) is too small")
        }
        var encoder = avcodec_find_encoder_by_name("libx264")
        if encoder == nil { encoder = avcodec_find_encoder(AV_CODEC_ID_MPEG4) }
        guard let encoder else {
            throw VideoError(.writeFailed, source: path, message: "this FFmpeg has neither libx264 nor an MPEG-4 encoder")
        }
        codecName = String(cString: encoder.pointee.name)

        do {
            switch container {
            case .forFileName(let name):
                try check(avformat_alloc_output_context2(&format, nil, nil, name ?? path), "choose a container for the file name")
            case .named(let name):
                try check(avformat_alloc_output_context2(&format, nil, name, path), "open the \(name) container")
            }
            guard let format else { throw VideoError(.writeFailed, source: path, message: "no container for this file name") }
            codec = avcodec_alloc_context3(encoder)
            stream = avformat_new_stream(format, nil)
            guard let codec, let stream else { throw VideoError(.writeFailed, source: path, message: "out of memory") }
            // 4:2:0 needs even sizes; odd ones lose their last row or column.
            codec.pointee.width = Int32(width & ~1)
            codec.pointee.height = Int32(height & ~1)
            codec.pointee.pix_fmt = AV_PIX_FMT_YUV420P
            codec.pointee.time_base = AVRational(num: 1, den: 1000)
            let rate = frameRate > 0 ? frameRate : 25
            codec.pointee.framerate = av_d2q(rate, 100_000)
            codec.pointee.gop_size = Int32(max(1, min(250, (rate * 10).rounded())))
            if codecName == "libx264" {
                av_opt_set(codec.pointee.priv_data, "preset", "veryfast", 0)
                av_opt_set(codec.pointee.priv_data, "crf", "23", 0)
            } else {
                codec.pointee.bit_rate = Int64(max(1_000_000, width * height * 4))
            }
            if format.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
                codec.pointee.flags |= AV_CODEC_FLAG_GLOBAL_HEADER
            }
            try check(avcodec_open2(codec, encoder, nil), "open the \(codecName) encoder")
            try check(avcodec_parameters_from_context(stream.pointee.codecpar, codec), "describe the stream")
            stream.pointee.time_base = codec.pointee.time_base
            if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
                try check(
                    avio_open(
                        &format.pointee.pb, path == Self.standardOutput ? "pipe:1" : ffmpegURL(path, existing: false),
                        AVIO_FLAG_WRITE), "create the file")
            }
            try check(avformat_write_header(format, nil), "write the header")

            frame = av_frame_alloc()
            packet = av_packet_alloc()
            guard let frame, packet != nil else { throw VideoError(.writeFailed, source: path, message: "out of memory") }
            frame.pointee.format = AV_PIX_FMT_YUV420P.rawValue
            frame.pointee.width = codec.pointee.width
            frame.pointee.height = codec.pointee.height
            try check(av_frame_get_buffer(frame, 0), "allocate a frame")
            scaler = sws_getContext(
                Int32(width), Int32(height), AV_PIX_FMT_RGB24, codec.pointee.width, codec.pointee.height,
                AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
            guard scaler != nil else {
                throw VideoError(.writeFailed, source: path, message: "cannot convert RGB24 to YUV 4:2:0")
            }
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private func release() {
        sws_freeContext(scaler)
        scaler = nil
        av_frame_free(&frame)
        av_packet_free(&packet)
        avcodec_free_context(&codec)
        if let format {
            if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 { avio_closep(&format.pointee.pb) }
            avformat_free_context(format)
        }
        format = nil
    }

    private func check(_ code: Int32, _ what: String) throws {
        if code < 0 {
            throw VideoError(.writeFailed, source: path, message: "cannot \(what): \(FFError.message(code))", code: code)
        }
    }

    /// Encodes one RGB24 picture of the writer's size, shown at `time` seconds.
    public func write(_ image: Image, time: Double) throws {
        precondition(
            image.width == width && image.height == height && image.pixelFormat == .rgb24, "RGB24 \(width)x\(height) expected")
        guard let frame, let codec else { throw VideoError(.writeFailed, source: path, message: "the writer is closed") }
        try check(av_frame_make_writable(frame), "reuse a frame")
        convert(image, into: frame, with: scaler)
        // Milliseconds, strictly increasing even where the source's times are not.
        let pts = max(Int64((time * 1000).rounded()), lastPTS + 1)
        lastPTS = pts
        frame.pointee.pts = pts
        try check(avcodec_send_frame(codec, frame), "encode a frame")
        try drain()
    }

    /// Flushes the encoder and finishes the file.
    public func finish() throws {
        guard !finished, let codec, let format else { return }
        finished = true
        try check(avcodec_send_frame(codec, nil), "flush the encoder")
        try drain()
        try check(av_write_trailer(format), "finish the file")
        if format.pointee.oformat.pointee.flags & AVFMT_NOFILE == 0 {
            try check(avio_closep(&format.pointee.pb), "close the file")
        }
    }

    private func drain() throws {
        guard let codec, let packet, let stream, let format else { return }
        while true {
            let code = avcodec_receive_packet(codec, packet)
            if code == FFError.again || code == FFError.eof { return }
            try check(code, "encode a frame")
            if packet.pointee.duration <= 0 { packet.pointee.duration = frameDuration }
            av_packet_rescale_ts(packet, codec.pointee.time_base, stream.pointee.time_base)
            packet.pointee.stream_index = stream.pointee.index
            try check(av_interleaved_write_frame(format, packet), "write a frame")
        }
    }
}
