import Geometry
import TrackLog
import VideoIO

/// Drawing on packed RGB24 pictures: box outlines, id labels, trails. Clipped to the
/// picture; nothing here allocates per pixel.
struct Canvas {
    var image: Image

    typealias Colour = (r: UInt8, g: UInt8, b: UInt8)

    mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, _ c: Colour) {
        let xa = max(0, x0)
        let xb = min(image.width, x1)
        let ya = max(0, y0)
        let yb = min(image.height, y1)
        guard xa < xb, ya < yb else { return }
        let stride = image.bytesPerRow
        image.pixels.withUnsafeMutableBufferPointer { p in
            for y in ya..<yb {
                var i = y * stride + xa * 3
                for _ in xa..<xb {
                    p[i] = c.r
                    p[i + 1] = c.g
                    p[i + 2] = c.b
                    i += 3
                }
            }
        }
    }

    /// A rectangle outline `thickness` pixels wide, inside the box's edges.
    mutating func outline(x0: Int, y0: Int, x1: Int, y1: Int, thickness: Int, _ c: Colour) {
        fill(x0: x0, y0: y0, x1: x1, y1: y0 + thickness, c)
        fill(x0: x0, y0: y1 - thickness, x1: x1, y1: y1, c)
        fill(x0: x0, y0: y0, x1: x0 + thickness, y1: y1, c)
        fill(x0: x1 - thickness, y0: y0, x1: x1, y1: y1, c)
    }

    /// A line `thickness` pixels wide from (ax, ay) to (bx, by).
    mutating func line(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, thickness: Int, _ c: Colour) {
        let steps = max(1, Int(max(abs(bx - ax), abs(by - ay)).rounded(.up)))
        let half = thickness / 2
        for k in 0...steps {
            let t = Double(k) / Double(steps)
            let x = Int((ax + (bx - ax) * t).rounded())
            let y = Int((ay + (by - ay) * t).rounded())
            fill(x0: x - half, y0: y - half, x1: x - half + thickness, y1: y - half + thickness, c)
        }
    }

    /// Line thickness and font scale for a picture `height` pixels high.
    static func strokes(height: Int) -> (thickness: Int, scale: Int) { (max(2, height / 360), max(2, height / 270)) }

    /// A track's box outline in its colour, with its id on a tab above it (inside,
    /// at the picture's top edge).
    mutating func label(_ box: Box, id: Int, thickness: Int, scale: Int) {
        let c = colour(for: id)
        let x0 = Int(box.x1.rounded())
        let y0 = Int(box.y1.rounded())
        outline(x0: x0, y0: y0, x1: Int(box.x2.rounded()), y1: Int(box.y2.rounded()), thickness: thickness, c)
        let text = String(id)
        let pad = scale
        let w = Canvas.textWidth(text, scale: scale) + 2 * pad
        let h = 5 * scale + 2 * pad
        let ly = y0 - h >= 0 ? y0 - h : y0
        fill(x0: x0, y0: ly, x1: x0 + w, y1: ly + h, c)
        self.text(text, x: x0 + pad, y: ly + pad, scale: scale, (0, 0, 0))
    }

    /// `text` (letters, shown in capitals, digits, spaces and `#-_.:/`; other
    /// characters are skipped) in a 3×5 pixel font scaled by `scale`, top-left at (x, y).
    mutating func text(_ text: String, x: Int, y: Int, scale: Int, _ c: Colour) {
        var cx = x
        for ch in text.uppercased() {
            if let rows = Self.glyphs[ch] {
                for (r, bits) in rows.enumerated() {
                    for col in 0..<3 where bits & (4 >> col) != 0 {
                        fill(x0: cx + col * scale, y0: y + r * scale, x1: cx + (col + 1) * scale, y1: y + (r + 1) * scale, c)
                    }
                }
            }
            cx += 4 * scale
        }
    }

    /// Width in pixels of `text` drawn by `text(_:x:y:scale:_:)`.
    static func textWidth(_ text: String, scale: Int) -> Int { max(0, text.count * 4 * scale - scale) }

    /// A 3×5 font: five rows of three bits, the left pixel the highest bit.
    static let glyphs: [Character: [UInt8]] = [
        "0": [7, 5, 5, 5, 7], "1": [2, 6, 2, 2, 7], "2": [7, 1, 7, 4, 7], "3": [7, 1, 7, 1, 7],
        "4": [5, 5, 7, 1, 1], "5": [7, 4, 7, 1, 7], "6": [7, 4, 7, 5, 7], "7": [7, 1, 1, 2, 2],
        "8": [7, 5, 7, 5, 7], "9": [7, 5, 7, 1, 7], "#": [5, 7, 5, 7, 5], " ": [0, 0, 0, 0, 0],
        "A": [2, 5, 7, 5, 5], "B": [6, 5, 6, 5, 6], "C": [3, 4, 4, 4, 3], "D": [6, 5, 5, 5, 6], "E": [7, 4, 6, 4, 7],
        "F": [7, 4, 6, 4, 4], "G": [3, 4, 5, 5, 3], "H": [5, 5, 7, 5, 5], "I": [7, 2, 2, 2, 7], "J": [1, 1, 1, 5, 2],
        "K": [5, 5, 6, 5, 5], "L": [4, 4, 4, 4, 7], "M": [5, 7, 7, 5, 5], "N": [6, 5, 5, 5, 5], "O": [2, 5, 5, 5, 2],
        "P": [6, 5, 6, 4, 4], "Q": [2, 5, 5, 6, 3], "R": [6, 5, 6, 5, 5], "S": [3, 4, 2, 1, 6], "T": [7, 2, 2, 2, 2],
        "U": [5, 5, 5, 5, 7], "V": [5, 5, 5, 5, 2], "W": [5, 5, 7, 7, 5], "X": [5, 5, 2, 5, 5], "Y": [5, 5, 2, 2, 2],
        "Z": [7, 1, 2, 4, 7], "-": [0, 0, 7, 0, 0], "_": [0, 0, 0, 0, 7], ".": [0, 0, 0, 0, 2], ":": [0, 2, 0, 2, 0],
        "/": [1, 1, 2, 4, 4]
    ]
}

/// A colour per track id: hues spaced by the golden angle, so ids close in number
/// get clearly different colours.
func colour(for id: Int) -> Canvas.Colour {
    let hue = (Double(id) * 0.618_033_988_749_895).truncatingRemainder(dividingBy: 1) * 6
    let sector = Int(hue)
    let f = hue - Double(sector)
    let v = 1.0
    let s = 0.85
    let p = v * (1 - s)
    let q = v * (1 - s * f)
    let t = v * (1 - s * (1 - f))
    let (r, g, b): (Double, Double, Double)
    switch sector {
    case 0: (r, g, b) = (v, t, p)
    case 1: (r, g, b) = (q, v, p)
    case 2: (r, g, b) = (p, v, t)
    case 3: (r, g, b) = (p, q, v)
    case 4: (r, g, b) = (t, p, v)
    default: (r, g, b) = (v, p, q)
    }
    return (UInt8(r * 255), UInt8(g * 255), UInt8(b * 255))
}

/// `tracks` (boxes in source pixels of a `sourceWidth` × `sourceHeight` picture) drawn
/// on `image`, that picture at any scale, as `trackd render` draws them without
/// trails, over the analytics' lines and zones: a live stream's snapshot.
public func drawTracks(
    _ tracks: [LogTrack], on image: Image, sourceWidth: Int, sourceHeight: Int, analytics: AnalyticsOverlay? = nil
) -> Image {
    var canvas = Canvas(image: image)
    let sx = Double(image.width) / Double(sourceWidth)
    let sy = Double(image.height) / Double(sourceHeight)
    let picture = Box(x1: 0, y1: 0, x2: Double(image.width), y2: Double(image.height))
    let (thickness, scale) = Canvas.strokes(height: image.height)
    if let analytics { canvas.draw(analytics, sx: sx, sy: sy, thickness: thickness, scale: scale) }
    for t in tracks {
        let r = t.rect
        let box = picture.clip(Box(x1: r.x1 * sx, y1: r.y1 * sy, x2: r.x2 * sx, y2: r.y2 * sy))
        canvas.label(box, id: t.id, thickness: thickness, scale: scale)
    }
    return canvas.image
}
