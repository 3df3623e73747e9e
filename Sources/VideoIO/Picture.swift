import CFFmpeg
import Foundation

/// A decoded picture at the source's own size, held by a reference to the decoder's
/// buffer rather than a copy, and converted only when asked: a live stream's latest
/// frame, for its snapshot. The decoder never writes into a buffer still referenced,
/// so a picture may be read from any thread.
public final class Picture: @unchecked Sendable {
    private(set) var frame: UnsafeMutablePointer<AVFrame>?
    public let width: Int
    public let height: Int

    init?(referencing source: UnsafeMutablePointer<AVFrame>) {
        guard let clone = av_frame_clone(source) else { return nil }
        frame = clone
        width = Int(clone.pointee.width)
        height = Int(clone.pointee.height)
    }

    deinit { av_frame_free(&frame) }

    /// Formats whose first plane is the luma, 8 bits a pixel: planar and semi-planar
    /// YUV (what decoders give almost always), and gray.
    private static let lumaFirst: Set<Int32> = [
        AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUVJ422P, AV_PIX_FMT_YUV444P,
        AV_PIX_FMT_YUVJ444P, AV_PIX_FMT_YUV440P, AV_PIX_FMT_YUVJ440P, AV_PIX_FMT_YUV411P, AV_PIX_FMT_YUV410P,
        AV_PIX_FMT_NV12, AV_PIX_FMT_NV21, AV_PIX_FMT_NV16, AV_PIX_FMT_GRAY8, AV_PIX_FMT_YUVA420P
    ].reduce(into: []) { $0.insert($1.rawValue) }

    /// The picture's luma plane as the decoder made it (no copy, no conversion), lent
    /// to `body` with its row stride; nil for a format without one (packed RGB, more
    /// than 8 bits a sample).
    public func withLuma<T>(_ body: (UnsafePointer<UInt8>, _ stride: Int) throws -> T) rethrows -> T? {
        guard let frame, Self.lumaFirst.contains(frame.pointee.format), let plane = frame.pointee.data.0,
            frame.pointee.linesize.0 > 0
        else { return nil }
        return try body(UnsafePointer(plane), Int(frame.pointee.linesize.0))
    }

    /// The picture as packed RGB24, scaled down to `maxWidth` pixels wide (the height
    /// in proportion) when it is wider.
    public func rgb(maxWidth: Int? = nil) throws -> Image {
        let scale = min(1, Double(maxWidth ?? width) / Double(width))
        let w = max(2, Int((Double(width) * scale).rounded()))
        let h = max(2, Int((Double(height) * scale).rounded()))
        var options = FrameReader.Options()
        options.pixelFormat = .rgb24
        options.scaling = .bilinear
        options.scalerThreads = 1
        var destination = av_frame_alloc()
        defer { av_frame_free(&destination) }
        guard let frame, let destination else {
            throw VideoError(.readFailed, source: "a picture", message: "out of memory")
        }
        return try FrameReader.image(
            of: frame, width: w, height: h, letterbox: nil, options: options, scaler: Scaler(), destination: destination,
            source: "a picture")
    }
}

/// JPEG pictures from libavcodec's MJPEG encoder.
public enum JPEG {
    /// `image` (RGB24) as a baseline JPEG file's bytes; `quality` is the encoder's
    /// quantiser scale, 2 (best) to 31.
    public static func encode(_ image: Image, quality: Int = 3) throws -> [UInt8] {
        precondition(image.pixelFormat == .rgb24, "JPEG.encode takes RGB24")
        func failed(_ what: String, _ code: Int32? = nil) -> VideoError {
            VideoError(
                .writeFailed, source: "a JPEG picture",
                message: "cannot \(what)" + (code.map { ": " + FFError.message($0) } ?? ""), code: code)
        }
        guard let encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG) else { throw failed("find FFmpeg's MJPEG encoder") }
        var codec = avcodec_alloc_context3(encoder)
        var frame = av_frame_alloc()
        var packet = av_packet_alloc()
        var scaler: OpaquePointer? = nil
        defer {
            sws_freeContext(scaler)
            av_packet_free(&packet)
            av_frame_free(&frame)
            avcodec_free_context(&codec)
        }
        guard let codec, let frame, let packet else { throw failed("allocate the encoder") }
        // 4:2:0 at full range, as JPEG files are; the encoder names that YUVJ420P.
        codec.pointee.width = Int32(image.width)
        codec.pointee.height = Int32(image.height)
        codec.pointee.pix_fmt = AV_PIX_FMT_YUVJ420P
        codec.pointee.color_range = AVCOL_RANGE_JPEG
        codec.pointee.time_base = AVRational(num: 1, den: 25)
        codec.pointee.flags |= AV_CODEC_FLAG_QSCALE
        codec.pointee.global_quality = Int32(min(max(quality, 2), 31)) * FF_QP2LAMBDA
        var code = avcodec_open2(codec, encoder, nil)
        guard code >= 0 else { throw failed("open the MJPEG encoder", code) }

        frame.pointee.format = AV_PIX_FMT_YUVJ420P.rawValue
        frame.pointee.width = codec.pointee.width
        frame.pointee.height = codec.pointee.height
        frame.pointee.quality = codec.pointee.global_quality
        frame.pointee.pts = 0
        code = av_frame_get_buffer(frame, 0)
        guard code >= 0 else { throw failed("allocate a frame", code) }
        // Converted as plain YUV420P with a full-range output (the J formats are
        // deprecated in swscale, which warns about them).
        scaler = sws_getContext(
            Int32(image.width), Int32(image.height), AV_PIX_FMT_RGB24, Int32(image.width), Int32(image.height),
            AV_PIX_FMT_YUV420P, SWS_BILINEAR, nil, nil, nil)
        guard let scaler else { throw failed("convert RGB24 to YUV 4:2:0") }
        let coefficients = sws_getCoefficients(SWS_CS_ITU601)
        _ = sws_setColorspaceDetails(scaler, coefficients, 1, coefficients, 1, 0, 1 << 16, 1 << 16)
        convert(image, into: frame, with: scaler)
        code = avcodec_send_frame(codec, frame)
        guard code >= 0 else { throw failed("encode the picture", code) }
        code = avcodec_receive_packet(codec, packet)
        guard code >= 0, let data = packet.pointee.data else { throw failed("encode the picture", code) }
        return Array(UnsafeBufferPointer(start: data, count: Int(packet.pointee.size)))
    }
}
