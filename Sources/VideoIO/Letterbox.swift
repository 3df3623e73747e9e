/// Where a source image lands inside a fixed-size output when it is scaled to fit
/// without changing its aspect ratio: the rest of the output is padding. Detectors
/// with a fixed input size use this, and map their boxes back with `toSource`.
public struct Letterbox: Sendable, Equatable, Codable {
    /// Where the scaled picture sits: centred (Ultralytics YOLO, most models) or in
    /// the top-left corner (YOLOX).
    public enum Alignment: String, Sendable, Equatable, Codable {
        case center, topLeft
    }

    public var sourceWidth: Int
    public var sourceHeight: Int
    /// Output size.
    public var width: Int
    public var height: Int
    /// Size of the scaled image inside the output.
    public var contentWidth: Int
    public var contentHeight: Int
    /// Padding left of and above the scaled image; the right and bottom padding
    /// take what is left.
    public var padLeft: Int
    public var padTop: Int

    /// Fits a `sourceWidth`×`sourceHeight` image into `width`×`height`.
    public init(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, alignment: Alignment = .center) {
        precondition(sourceWidth > 0 && sourceHeight > 0 && width > 0 && height > 0)
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.width = width
        self.height = height
        let scale = min(Double(width) / Double(sourceWidth), Double(height) / Double(sourceHeight))
        // The side that limits the scale fills the output exactly; the other is rounded.
        contentWidth = min(width, max(1, Int((Double(sourceWidth) * scale).rounded())))
        contentHeight = min(height, max(1, Int((Double(sourceHeight) * scale).rounded())))
        padLeft = alignment == .center ? (width - contentWidth) / 2 : 0
        padTop = alignment == .center ? (height - contentHeight) / 2 : 0
    }

    /// The scale factor that was applied (output pixels per source pixel).
    public var scale: Double {
        min(Double(width) / Double(sourceWidth), Double(height) / Double(sourceHeight))
    }

    public var padRight: Int { width - contentWidth - padLeft }
    public var padBottom: Int { height - contentHeight - padTop }

    /// Maps a point in output pixels back to source pixels. The per-axis ratios of
    /// the rounded content size are used, so the content's edges map exactly onto
    /// the source's edges.
    public func toSource(x: Double, y: Double) -> (x: Double, y: Double) {
        (
            (x - Double(padLeft)) * Double(sourceWidth) / Double(contentWidth),
            (y - Double(padTop)) * Double(sourceHeight) / Double(contentHeight)
        )
    }

    /// Maps a point in source pixels to output pixels.
    public func fromSource(x: Double, y: Double) -> (x: Double, y: Double) {
        (
            x * Double(contentWidth) / Double(sourceWidth) + Double(padLeft),
            y * Double(contentHeight) / Double(sourceHeight) + Double(padTop)
        )
    }
}
