import Analytics
import TrackLog

/// What to draw of a source's analytics: its lines with their counts so far, its
/// zones with the tracks in them now.
public struct AnalyticsOverlay: Sendable {
    public var config: AnalyticsConfig
    public var totals: EventTotals
    public var occupancy: [String: [String: Int]]

    public init(config: AnalyticsConfig, totals: EventTotals, occupancy: [String: [String: Int]]) {
        self.config = config
        self.totals = totals
        self.occupancy = occupancy
    }
}

extension Canvas {
    /// Zones as outlines labelled `NAME N` (tracks in it now), lines labelled
    /// `NAME IN n OUT m` (crossings so far, every class), in source pixels scaled by
    /// (sx, sy). A line's `in` side (the right-hand side walking from `from` to `to`)
    /// gets a short tick at its middle.
    mutating func draw(_ overlay: AnalyticsOverlay, sx: Double, sy: Double, thickness: Int, scale: Int) {
        let zoneColour: Colour = (80, 200, 255)
        let lineColour: Colour = (255, 230, 0)
        for zone in overlay.config.zones {
            let corners = zone.corners.map { ($0.x * sx, $0.y * sy) }
            for (k, a) in corners.enumerated() {
                let b = corners[(k + 1) % corners.count]
                line(a.0, a.1, b.0, b.1, thickness: max(1, thickness / 2), zoneColour)
            }
            let inside = overlay.occupancy[zone.name]?.values.reduce(0, +) ?? 0
            let top = corners.min { $0.1 < $1.1 } ?? (0, 0)
            tag("\(zone.name) \(inside)", x: Int(top.0), y: Int(top.1), scale: scale, zoneColour)
        }
        for l in overlay.config.lines {
            let (ax, ay, bx, by) = (l.from.x * sx, l.from.y * sy, l.to.x * sx, l.to.y * sy)
            line(ax, ay, bx, by, thickness: thickness, lineColour)
            // The tick points to the right-hand side: (dx, dy) turned a quarter to the left on screen.
            let (mx, my) = ((ax + bx) / 2, (ay + by) / 2)
            let length = max(1, ((bx - ax) * (bx - ax) + (by - ay) * (by - ay)).squareRoot())
            let tick = Double(6 * scale)
            line(mx, my, mx - (by - ay) / length * tick, my + (bx - ax) / length * tick, thickness: thickness, lineColour)
            let counts = overlay.totals.lines[l.name] ?? EventTotals.Line()
            let text = "\(l.name) IN \(counts.in.values.reduce(0, +)) OUT \(counts.out.values.reduce(0, +))"
            tag(text, x: Int(mx), y: Int(my), scale: scale, lineColour)
        }
    }

    /// `text` in black on a tab of colour `c`, its top-left corner at (x, y), kept
    /// inside the picture.
    mutating func tag(_ text: String, x: Int, y: Int, scale: Int, _ c: Colour) {
        let pad = scale
        let w = Canvas.textWidth(text, scale: scale) + 2 * pad
        let h = 5 * scale + 2 * pad
        let x0 = max(0, min(x, image.width - w))
        let y0 = max(0, min(y, image.height - h))
        fill(x0: x0, y0: y0, x1: x0 + w, y1: y0 + h, c)
        self.text(text, x: x0 + pad, y: y0 + pad, scale: scale, (0, 0, 0))
    }
}
