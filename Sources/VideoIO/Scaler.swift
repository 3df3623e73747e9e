import CFFmpeg
import Foundation

/// One swscale context, rebuilt only when the picture geometry or format changes
/// (streams may change size mid-way). Uses `sws_scale_frame`, the only swscale
/// entry point that runs on several threads.
final class Scaler {
    private struct Key: Equatable {
        var sourceWidth, sourceHeight: Int32
        var sourceFormat: Int32
        var fullRange: Bool
        var width, height: Int32
        var format: AVPixelFormat
        var flags: Int32
        var threads: Int
    }

    private var context: OpaquePointer?
    private var key: Key?

    deinit { sws_freeContext(context) }

    /// Converts `frame` into `width`×`height` pixels written at `target`, rows
    /// `stride` bytes apart. Returns 0 or FFmpeg's negative error code.
    func scale(
        _ frame: UnsafeMutablePointer<AVFrame>, into target: UnsafeMutablePointer<UInt8>, bufferSize: Int,
        width: Int, height: Int, stride: Int, options: FrameReader.Options,
        destination: UnsafeMutablePointer<AVFrame>, source: String
    ) throws -> Int32 {
        let format = options.pixelFormat == .rgb24 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_BGR24
        let wanted = Key(
            sourceWidth: frame.pointee.width, sourceHeight: frame.pointee.height,
            sourceFormat: frame.pointee.format,
            fullRange: frame.pointee.color_range == AVCOL_RANGE_JPEG,
            width: Int32(width), height: Int32(height), format: format,
            flags: options.scaling.swsFlags,
            threads: options.scalerThreads > 0 ? options.scalerThreads : ProcessInfo.processInfo.activeProcessorCount)
        if wanted != key {
            sws_freeContext(context)
            context = nil
            key = nil
            guard let made = Self.makeContext(wanted) else {
                throw VideoError(
                    .readFailed, source: source,
                    message:
                        "swscale cannot convert \(wanted.sourceWidth)x\(wanted.sourceHeight) \(Self.formatName(wanted.sourceFormat)) to \(width)x\(height) \(options.pixelFormat.rawValue)"
                )
            }
            context = made
            key = wanted
        }

        // swscale writes into a frame that owns a buffer reference; wrap the
        // caller's memory in one that frees nothing, so no copy is needed.
        guard let buffer = av_buffer_create(target, bufferSize, { _, _ in }, nil, 0) else {
            return FFError.posix(ENOMEM)
        }
        destination.pointee.buf.0 = buffer
        destination.pointee.data.0 = target
        destination.pointee.linesize.0 = Int32(stride)
        destination.pointee.width = Int32(width)
        destination.pointee.height = Int32(height)
        destination.pointee.format = format.rawValue
        defer { av_frame_unref(destination) }
        let code = sws_scale_frame(context, destination, frame)
        return code < 0 ? code : 0
    }

    private static func makeContext(_ key: Key) -> OpaquePointer? {
        guard let ctx = sws_alloc_context() else { return nil }
        let object = UnsafeMutableRawPointer(ctx)
        let settings: [(String, Int64)] =
            [
                ("srcw", Int64(key.sourceWidth)), ("srch", Int64(key.sourceHeight)),
                ("src_format", Int64(key.sourceFormat)),
                ("dstw", Int64(key.width)), ("dsth", Int64(key.height)),
                ("dst_format", Int64(key.format.rawValue)),
                ("sws_flags", Int64(key.flags)),
                ("threads", Int64(key.threads))
            ] + (key.fullRange ? [("src_range", 1)] : [])
        for (name, value) in settings where av_opt_set_int(object, name, value, 0) < 0 {
            sws_freeContext(ctx)
            return nil
        }
        if sws_init_context(ctx, nil, nil) < 0 {
            sws_freeContext(ctx)
            return nil
        }
        return ctx
    }

    private static func formatName(_ format: Int32) -> String {
        av_get_pix_fmt_name(AVPixelFormat(format)).map { String(cString: $0) } ?? "pixel format \(format)"
    }
}

/// A rectangle of an image, in its pixels.
public struct Region: Sendable, Equatable, CustomStringConvertible {
    public var x, y, width, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        (self.x, self.y, self.width, self.height) = (x, y, width, height)
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// Scales a region of a packed image into a letterboxed image of a fixed size, for
/// a detector that looks at a frame piece by piece (the whole frame, then its tiles).
/// Keeps one swscale context per region size, so a frame's passes reuse theirs; a
/// few sizes at most (a stream that changes size starts the set again).
public final class RegionScaler {
    private struct Key: Hashable {
        var width, height, outputWidth, outputHeight: Int
        var format: PixelFormat
    }

    private let scaling: FrameReader.Scaling
    private var contexts: [Key: OpaquePointer] = [:]

    public init(scaling: FrameReader.Scaling = .bicubic) {
        self.scaling = scaling
    }

    deinit { contexts.values.forEach(sws_freeContext) }

    /// `region` of `image` scaled to fit `width`×`height` (aspect ratio kept), placed
    /// as `alignment` says, the rest `padValue`; the letterbox maps boxes back into
    /// the region's pixels (add its origin for the image's).
    public func letterbox(
        _ image: Image, region: Region, width: Int, height: Int, alignment: Letterbox.Alignment,
        padValue: UInt8 = 114
    ) throws -> (Image, Letterbox) {
        precondition(
            region.x >= 0 && region.y >= 0 && region.width > 0 && region.height > 0
                && region.x + region.width <= image.width && region.y + region.height <= image.height,
            "the region must lie inside the image")
        let box = Letterbox(
            sourceWidth: region.width, sourceHeight: region.height, width: width, height: height, alignment: alignment)
        let wanted = Key(
            width: region.width, height: region.height, outputWidth: box.contentWidth,
            outputHeight: box.contentHeight, format: image.pixelFormat)
        if contexts[wanted] == nil {
            if contexts.count >= 8 {
                contexts.values.forEach(sws_freeContext)
                contexts = [:]
            }
            let format = image.pixelFormat == .rgb24 ? AV_PIX_FMT_RGB24 : AV_PIX_FMT_BGR24
            contexts[wanted] = sws_getContext(
                Int32(region.width), Int32(region.height), format, Int32(box.contentWidth),
                Int32(box.contentHeight), format, scaling.swsFlags, nil, nil, nil)
        }
        guard let context = contexts[wanted] else {
            throw VideoError(
                .invalidOption, source: "",
                message: "swscale cannot scale \(region.width)x\(region.height) to \(box.contentWidth)x\(box.contentHeight)")
        }
        let bpp = image.pixelFormat.bytesPerPixel
        let stride = width * bpp
        var code: Int32 = 0
        let pixels = [UInt8](unsafeUninitializedCapacity: stride * height) { buffer, count in
            let base = buffer.baseAddress!
            FrameReader.fillPadding(base, box: box, stride: stride, value: padValue)
            image.pixels.withUnsafeBufferPointer { source in
                var sourcePlanes: [UnsafePointer<UInt8>?] = [
                    source.baseAddress! + region.y * image.bytesPerRow + region.x * bpp, nil, nil, nil
                ]
                var sourceStrides: [Int32] = [Int32(image.bytesPerRow), 0, 0, 0]
                var targetPlanes: [UnsafeMutablePointer<UInt8>?] = [base + box.padTop * stride + box.padLeft * bpp, nil, nil, nil]
                var targetStrides: [Int32] = [Int32(stride), 0, 0, 0]
                code = sws_scale(context, &sourcePlanes, &sourceStrides, 0, Int32(region.height), &targetPlanes, &targetStrides)
            }
            count = buffer.count
        }
        guard code > 0 else {
            throw VideoError(
                .readFailed, source: "",
                message: "swscale failed on a \(region.width)x\(region.height) region: \(FFError.message(code))", code: code)
        }
        return (Image(width: width, height: height, pixelFormat: image.pixelFormat, pixels: pixels), box)
    }
}

/// Converts packed `image` into `frame`'s planes (allocated, of the scaler's output
/// size and format) with `scaler`, made for that conversion.
func convert(_ image: Image, into frame: UnsafeMutablePointer<AVFrame>, with scaler: OpaquePointer?) {
    image.pixels.withUnsafeBufferPointer { pixels in
        var source: [UnsafePointer<UInt8>?] = [pixels.baseAddress, nil, nil, nil]
        var stride: [Int32] = [Int32(image.bytesPerRow), 0, 0, 0]
        withUnsafeMutableBytes(of: &frame.pointee.data) { data in
            withUnsafeMutableBytes(of: &frame.pointee.linesize) { lines in
                _ = sws_scale(
                    scaler, &source, &stride, 0, Int32(image.height),
                    data.baseAddress!.assumingMemoryBound(to: UnsafeMutablePointer<UInt8>?.self),
                    lines.baseAddress!.assumingMemoryBound(to: Int32.self))
            }
        }
    }
}
