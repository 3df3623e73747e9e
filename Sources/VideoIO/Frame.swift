/// Byte order of packed 8-bit colour pixels.
public enum PixelFormat: String, Sendable, Codable, CaseIterable {
    case rgb24, bgr24

    public var bytesPerPixel: Int { 3 }
}

/// A packed 8-bit image: rows of `width * 3` bytes, no row padding.
public struct Image: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var pixelFormat: PixelFormat
    public var pixels: [UInt8]

    public var bytesPerRow: Int { width * pixelFormat.bytesPerPixel }

    public init(width: Int, height: Int, pixelFormat: PixelFormat, pixels: [UInt8]) {
        precondition(
            pixels.count == width * height * pixelFormat.bytesPerPixel, "pixel buffer size does not match the image size")
        self.width = width
        self.height = height
        self.pixelFormat = pixelFormat
        self.pixels = pixels
    }

    /// The colour bytes of the pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let i = y * bytesPerRow + x * 3
        return (pixels[i], pixels[i + 1], pixels[i + 2])
    }
}

/// What is known of a decoded frame before (or without) converting its pixels.
public struct FrameInfo: Sendable, Equatable {
    /// Position of the frame in the decoder's output (display order), from 0.
    /// Frames skipped as corrupt keep their index, so a gap shows where they were.
    public var index: Int
    /// Presentation time in seconds: the frame's timestamp times the stream's time
    /// base, as `ffprobe -show_frames` reports it (not shifted to start at 0).
    public var time: Double
    /// The timestamp in stream time-base units; `nil` when the stream gave none and
    /// `time` is an estimate (previous time plus one frame duration).
    public var pts: Int64?
    /// Size of the decoded picture.
    public var sourceWidth: Int
    public var sourceHeight: Int

    public var hasEstimatedTime: Bool { pts == nil }
}

/// A decoded frame converted to packed RGB24 or BGR24.
public struct Frame: Sendable {
    public var info: FrameInfo
    public var image: Image
    /// Where the source picture lies inside `image`; `nil` at native size.
    public var letterbox: Letterbox?
    /// The decoded picture itself, when the reader keeps pictures.
    public var picture: Picture?

    public init(info: FrameInfo, image: Image, letterbox: Letterbox?, picture: Picture? = nil) {
        self.info = info
        self.image = image
        self.letterbox = letterbox
        self.picture = picture
    }

    public var index: Int { info.index }
    public var time: Double { info.time }
}
