import Foundation

/// A point in the picture (source pixels, y pointing down) or on the ground (metres).
public struct Point: Sendable, Equatable, Hashable {
    public var x: Double
    public var y: Double

    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }

    static func - (a: Point, b: Point) -> Point { Point(a.x - b.x, a.y - b.y) }

    func distance(to p: Point) -> Double { ((x - p.x) * (x - p.x) + (y - p.y) * (y - p.y)).squareRoot() }
}

/// The z component of a × b.
func cross(_ a: Point, _ b: Point) -> Double { a.x * b.y - a.y * b.x }

/// Whether segments ab and cd share a point (touching counts).
func segmentsIntersect(_ a: Point, _ b: Point, _ c: Point, _ d: Point) -> Bool {
    let d1 = cross(b - a, c - a)
    let d2 = cross(b - a, d - a)
    let d3 = cross(d - c, a - c)
    let d4 = cross(d - c, b - c)
    if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) { return true }
    func onSegment(_ p: Point, _ q: Point, _ r: Point) -> Bool {
        min(p.x, q.x) <= r.x && r.x <= max(p.x, q.x) && min(p.y, q.y) <= r.y && r.y <= max(p.y, q.y)
    }
    return (d1 == 0 && onSegment(a, b, c)) || (d2 == 0 && onSegment(a, b, d)) || (d3 == 0 && onSegment(c, d, a))
        || (d4 == 0 && onSegment(c, d, b))
}

/// Distance from p to the segment ab.
func distance(_ p: Point, toSegment a: Point, _ b: Point) -> Double {
    let ab = b - a
    let length2 = ab.x * ab.x + ab.y * ab.y
    guard length2 > 0 else { return p.distance(to: a) }
    let t = min(1, max(0, ((p.x - a.x) * ab.x + (p.y - a.y) * ab.y) / length2))
    return p.distance(to: Point(a.x + t * ab.x, a.y + t * ab.y))
}

/// A simple polygon: its edges meet only at shared corners.
struct Polygon: Sendable, Equatable {
    var corners: [Point]

    var edges: [(Point, Point)] { corners.indices.map { (corners[$0], corners[($0 + 1) % corners.count]) } }

    /// Even-odd rule; a point on an edge counts as inside.
    func contains(_ p: Point) -> Bool {
        var inside = false
        for (a, b) in edges {
            if distance(p, toSegment: a, b) == 0 { return true }
            if (a.y > p.y) != (b.y > p.y) {
                let x = a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x)
                if p.x < x { inside.toggle() }
            }
        }
        return inside
    }

    /// Distance from p to the nearest edge: positive inside, negative outside.
    func signedDistance(_ p: Point) -> Double {
        let d = edges.map { distance(p, toSegment: $0.0, $0.1) }.min() ?? 0
        return contains(p) ? d : -d
    }

    /// Two edges that are not neighbours cross or touch, or neighbours that fold back
    /// onto each other; nil for a simple polygon.
    var selfIntersection: (Int, Int)? {
        let e = edges
        let n = e.count
        for i in 0..<n {
            for j in (i + 1)..<n {
                let neighbours = j == i + 1 || (i == 0 && j == n - 1)
                if neighbours {
                    // Neighbours share one corner; they overlap only if they run back along each other.
                    let (a, b) = j == i + 1 ? (e[i], e[j]) : (e[j], e[i])
                    let u = a.0 - a.1
                    let v = b.1 - b.0
                    if cross(u, v) == 0 && u.x * v.x + u.y * v.y > 0 { return (i, j) }
                } else if segmentsIntersect(e[i].0, e[i].1, e[j].0, e[j].1) {
                    return (i, j)
                }
            }
        }
        return nil
    }
}

/// A plane-to-plane projective map (3 × 3, row-major, up to scale): picture points
/// to ground metres.
struct Homography: Sendable, Equatable {
    var h: [Double]

    func map(_ p: Point) -> Point {
        let w = h[6] * p.x + h[7] * p.y + h[8]
        return Point((h[0] * p.x + h[1] * p.y + h[2]) / w, (h[3] * p.x + h[4] * p.y + h[5]) / w)
    }

    /// The homography taking each `from` point to its `to` point, least squares for
    /// more than four pairs (the direct linear transform on Hartley-normalised
    /// points, so that pixel and metre scales do not spoil the solve); nil when the
    /// points leave it undetermined (three of them in a line).
    init?(from: [Point], to: [Point]) {
        guard from.count == to.count, from.count >= 4 else { return nil }
        guard let (nf, tf) = Self.normalising(from), let (nt, tt) = Self.normalising(to) else { return nil }
        // Unknowns h0…h7 of the normalised map, h8 = 1 (the centroids correspond, so
        // it is not 0): two equations per pair.
        var ata = [Double](repeating: 0, count: 64)
        var atb = [Double](repeating: 0, count: 8)
        for (p, q) in zip(nf, nt) {
            let rows: [([Double], Double)] = [
                ([p.x, p.y, 1, 0, 0, 0, -p.x * q.x, -p.y * q.x], q.x),
                ([0, 0, 0, p.x, p.y, 1, -p.x * q.y, -p.y * q.y], q.y)
            ]
            for (row, rhs) in rows {
                for i in 0..<8 {
                    atb[i] += row[i] * rhs
                    for j in 0..<8 { ata[i * 8 + j] += row[i] * row[j] }
                }
            }
        }
        guard let x = solve(ata, atb, n: 8) else { return nil }
        let normalised = x + [1]
        // H = T_to⁻¹ · Hn · T_from
        let product = multiply(Self.inverseSimilarity(tt), multiply(normalised, tf))
        // Scaled to unit norm, not to h8 = 1: h8 is 0 when the picture's origin lies
        // on the ground's horizon.
        let norm = product.reduce(0) { $0 + $1 * $1 }.squareRoot()
        guard norm > 0, norm.isFinite else { return nil }
        h = product.map { $0 / norm }
        // A map that sends a given point to infinity (or, from four pairs, off its
        // target) is no map.
        for (p, q) in zip(from, to) {
            let m = map(p)
            guard m.x.isFinite, m.y.isFinite else { return nil }
            if from.count == 4, m.distance(to: q) > 1e-6 * max(1, abs(q.x) + abs(q.y)) { return nil }
        }
    }

    /// The points moved to their centroid and scaled to a mean distance of √2, and
    /// that similarity (s, tx, ty as a 3 × 3 matrix).
    private static func normalising(_ points: [Point]) -> ([Point], [Double])? {
        let cx = points.map(\.x).reduce(0, +) / Double(points.count)
        let cy = points.map(\.y).reduce(0, +) / Double(points.count)
        let mean = points.map { $0.distance(to: Point(cx, cy)) }.reduce(0, +) / Double(points.count)
        guard mean > 0 else { return nil }
        let s = 2.0.squareRoot() / mean
        return (points.map { Point(($0.x - cx) * s, ($0.y - cy) * s) }, [s, 0, -s * cx, 0, s, -s * cy, 0, 0, 1])
    }

    private static func inverseSimilarity(_ t: [Double]) -> [Double] {
        let s = t[0]
        return [1 / s, 0, -t[2] / s, 0, 1 / s, -t[5] / s, 0, 0, 1]
    }
}

private func multiply(_ a: [Double], _ b: [Double]) -> [Double] {
    var c = [Double](repeating: 0, count: 9)
    for i in 0..<3 {
        for j in 0..<3 { c[i * 3 + j] = (0..<3).reduce(0) { $0 + a[i * 3 + $1] * b[$1 * 3 + j] } }
    }
    return c
}

/// Solves the n × n system by Gaussian elimination with partial pivoting; nil when singular.
private func solve(_ matrix: [Double], _ rhs: [Double], n: Int) -> [Double]? {
    var a = matrix
    var b = rhs
    for col in 0..<n {
        let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
        guard abs(a[pivot * n + col]) > 1e-10 else { return nil }
        if pivot != col {
            for k in 0..<n { a.swapAt(col * n + k, pivot * n + k) }
            b.swapAt(col, pivot)
        }
        for row in (col + 1)..<n {
            let f = a[row * n + col] / a[col * n + col]
            guard f != 0 else { continue }
            for k in col..<n { a[row * n + k] -= f * a[col * n + k] }
            b[row] -= f * b[col]
        }
    }
    var x = [Double](repeating: 0, count: n)
    for row in stride(from: n - 1, through: 0, by: -1) {
        let sum = ((row + 1)..<n).reduce(0) { $0 + a[row * n + $1] * x[$1] }
        x[row] = (b[row] - sum) / a[row * n + row]
    }
    return x
}
