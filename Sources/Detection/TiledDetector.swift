import Foundation
import Geometry
import VideoIO

/// Runs a letterboxing detector on overlapping square tiles of the native frame as
/// well as on the whole frame, and merges the boxes (slicing-aided inference, after
/// SAHI, Akyon et al. 2022): small objects are seen at a larger scale in the tiles,
/// large ones whole in the full-frame pass.
///
/// 1. Tiles of `tileSize` source pixels overlap by `overlap` of a tile; a frame side
///    no longer than a tile is one tile.
/// 2. Each tile and the whole frame are letterboxed into the detector's input.
/// 3. A box from a tile that touches one of the tile's edges inside the frame is an
///    object cut by the tile: it is dropped (the neighbouring tile or the full-frame
///    pass sees it whole).
/// 4. NMS over all boxes, as the detector's own (`--iou`, across classes or not).
final class TiledDetector: Detector {
    static let overlap = 0.2
    /// Pixels from a tile's inner edge within which a box counts as cut.
    static let edgeMargin = 2.0

    let input: DetectorInput
    var classNames: [String] { inner.classNames }
    let summary: String
    private let inner: any Detector
    private let size: (width: Int, height: Int)
    private let tileSize: Int
    private let options: DetectorOptions
    private let scaler = RegionScaler()

    init(_ inner: any Detector, tileSize: Int, options: DetectorOptions) throws {
        guard let size = inner.input.size else {
            throw DetectorError.invalidOption(
                "--tile-size needs a model with a fixed input size (a YOLO export); this one takes native frames")
        }
        guard tileSize >= 32 else { throw DetectorError.invalidOption("--tile-size must be at least 32 pixels, got \(tileSize)") }
        self.inner = inner
        self.size = size
        self.tileSize = tileSize
        self.options = options
        input = DetectorInput(size: nil, alignment: inner.input.alignment, pixelFormat: inner.input.pixelFormat)
        summary = "\(inner.summary), tiles of \(tileSize) px and the whole frame"
    }

    func sharingModel() throws -> any Detector {
        try TiledDetector(inner.sharingModel(), tileSize: tileSize, options: options)
    }

    /// Tile origins along one side of `length` pixels: evenly spaced, the first at 0
    /// and the last ending at the far edge, at most `size × (1 − overlap)` apart.
    static func origins(length: Int, size: Int) -> [Int] {
        guard length > size else { return [0] }
        let step = Double(size) * (1 - overlap)
        let count = Int((Double(length - size) / step).rounded(.up)) + 1
        return (0..<count).map { Int((Double($0) * Double(length - size) / Double(count - 1)).rounded()) }
    }

    /// The regions looked at: the whole frame first, then the tiles (none when one
    /// tile would cover the frame).
    static func regions(width: Int, height: Int, tileSize: Int) -> [Region] {
        let whole = Region(x: 0, y: 0, width: width, height: height)
        guard width > tileSize || height > tileSize else { return [whole] }
        let (w, h) = (min(tileSize, width), min(tileSize, height))
        return [whole]
            + origins(length: height, size: h).flatMap { y in
                origins(length: width, size: w).map { x in Region(x: x, y: y, width: w, height: h) }
            }
    }

    func detect(_ frame: Frame) throws -> [Observation] {
        let image = frame.image
        precondition(frame.letterbox == nil && image.pixelFormat == input.pixelFormat, "TiledDetector takes native frames")
        var found: [Observation] = []
        for (k, region) in Self.regions(width: image.width, height: image.height, tileSize: tileSize).enumerated() {
            let (tile, box) = try scaler.letterbox(
                image, region: region, width: size.width, height: size.height,
                alignment: input.alignment)
            let boxes = try inner.detect(Frame(info: frame.info, image: tile, letterbox: box))
            for o in boxes {
                let b = Box(
                    x1: o.box.x1 + Double(region.x), y1: o.box.y1 + Double(region.y),
                    x2: o.box.x2 + Double(region.x), y2: o.box.y2 + Double(region.y))
                if k > 0, Self.isCut(b, by: region, width: image.width, height: image.height) { continue }
                found.append(Observation(box: b, score: o.score, classID: o.classID))
            }
        }
        return nonMaximumSuppression(found, iou: options.iou, classAware: options.classAwareNMS, limit: options.maxDetections)
    }

    /// Whether `box` reaches an edge of `region` that lies inside the frame.
    static func isCut(_ box: Box, by region: Region, width: Int, height: Int) -> Bool {
        let m = edgeMargin
        return region.x > 0 && box.x1 <= Double(region.x) + m
            || region.y > 0 && box.y1 <= Double(region.y) + m
            || region.x + region.width < width && box.x2 >= Double(region.x + region.width) - m
            || region.y + region.height < height && box.y2 >= Double(region.y + region.height) - m
    }
}
