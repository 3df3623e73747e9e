import Foundation
import Geometry

/// A picture's luma (Y) plane, 8 bits a pixel, as the decoder made it: borrowed for
/// one call of the tracker, never kept.
public struct LumaPlane {
    public let width: Int
    public let height: Int
    /// Bytes from one row to the next.
    public let stride: Int
    public let pixels: UnsafePointer<UInt8>

    public init(width: Int, height: Int, stride: Int, pixels: UnsafePointer<UInt8>) {
        (self.width, self.height, self.stride, self.pixels) = (width, height, stride, pixels)
    }

    /// Bilinear sample at (x, y) in pixel coordinates (pixel centres at +0.5), the
    /// edge repeated outside.
    @inline(__always)
    func sample(_ x: Double, _ y: Double) -> Float {
        let fx = min(max(x - 0.5, 0), Double(width - 1))
        let fy = min(max(y - 0.5, 0), Double(height - 1))
        let x0 = Int(fx)
        let y0 = Int(fy)
        let x1 = min(x0 + 1, width - 1)
        let y1 = min(y0 + 1, height - 1)
        let ax = Float(fx - Double(x0))
        let ay = Float(fy - Double(y0))
        let r0 = pixels + y0 * stride
        let r1 = pixels + y1 * stride
        let top = Float(r0[x0]) + (Float(r0[x1]) - Float(r0[x0])) * ax
        let bottom = Float(r1[x0]) + (Float(r1[x1]) - Float(r1[x0])) * ax
        return top + (bottom - top) * ay
    }
}

/// What the correlation filters of one tracker share: the transform, the window that
/// fades a patch's edges, and the response they are trained to give (a Gaussian
/// peak at the patch's centre), in the frequency domain.
struct CorrelationSetup: Sendable {
    /// Patch side, in samples.
    static let size = 32
    /// The patch covers this many times the box, in each direction: the object and
    /// some of what surrounds it, so that the filter learns to tell them apart.
    static let padding = 2.5
    /// How much of the filter each new detection replaces (MOSSE's η).
    static let learningRate: Float = 0.125
    /// Added to the filter's denominator, against division by near-zero energy.
    static let regularisation: Float = 0.1

    let fft = FFT2D(size: size)
    let window: [Float]
    let targetRe: [Float]
    let targetIm: [Float]

    init() {
        let n = Self.size
        let hann = (0..<n).map { Float(0.5 - 0.5 * cos(2 * Double.pi * (Double($0) + 0.5) / Double(n))) }
        window = (0..<(n * n)).map { hann[$0 / n] * hann[$0 % n] }
        // σ: a tenth of the object's side in the patch, as KCF chooses it.
        let sigma = 0.1 * Double(n) / Self.padding
        var re = (0..<(n * n)).map { k -> Float in
            let dx = Double(k % n - n / 2)
            let dy = Double(k / n - n / 2)
            return Float(exp(-(dx * dx + dy * dy) / (2 * sigma * sigma)))
        }
        var im = [Float](repeating: 0, count: n * n)
        fft.transform(&re, &im)
        (targetRe, targetIm) = (re, im)
    }

    /// The patch around `box` (`padding` times its size, resampled to size × size):
    /// log luma, zero mean, scaled so that its spectrum's mean energy is about 1, the
    /// window applied; and its transform.
    func spectrum(_ luma: LumaPlane, _ box: Box) -> (re: [Float], im: [Float]) {
        let n = Self.size
        let sx = box.width * Self.padding / Double(n)
        let sy = box.height * Self.padding / Double(n)
        let x0 = box.centerX - sx * Double(n) / 2
        let y0 = box.centerY - sy * Double(n) / 2
        var re = [Float](repeating: 0, count: n * n)
        for row in 0..<n {
            let y = y0 + (Double(row) + 0.5) * sy
            for column in 0..<n {
                re[row * n + column] = log1p(luma.sample(x0 + (Double(column) + 0.5) * sx, y))
            }
        }
        let mean = re.reduce(0, +) / Float(n * n)
        let variance = re.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Float(n * n)
        let scale = 1 / (sqrt(variance + 1e-6) * Float(n))
        for k in re.indices { re[k] = (re[k] - mean) * scale * window[k] }
        var im = [Float](repeating: 0, count: n * n)
        fft.transform(&re, &im)
        return (re, im)
    }
}

/// One object's appearance as a correlation filter (MOSSE: Bolme, Beveridge, Draper
/// and Lui, "Visual Object Tracking using Adaptive Correlation Filters", CVPR 2010),
/// learned on the luma patch around each of its detections. Correlated with the patch
/// around where the object is expected, it peaks where the object is; the peak's
/// sharpness (the peak-to-sidelobe ratio) says how sure it is.
struct CorrelationFilter: Sendable {
    /// The filter is A / (B + λ): A sums the target response times the patches'
    /// conjugate spectra, B their energy, each a running average.
    private var aRe: [Float]
    private var aIm: [Float]
    private var b: [Float]

    /// Learns the object from the patch around `box`.
    init(_ setup: CorrelationSetup, _ luma: LumaPlane, _ box: Box) {
        let f = setup.spectrum(luma, box)
        (aRe, aIm, b) = Self.terms(setup, f)
    }

    /// G · conj(F) and F · conj(F).
    private static func terms(_ setup: CorrelationSetup, _ f: (re: [Float], im: [Float])) -> ([Float], [Float], [Float]) {
        let count = f.re.count
        var aRe = [Float](repeating: 0, count: count)
        var aIm = [Float](repeating: 0, count: count)
        var b = [Float](repeating: 0, count: count)
        for k in 0..<count {
            let (gr, gi, fr, fi) = (setup.targetRe[k], setup.targetIm[k], f.re[k], f.im[k])
            aRe[k] = gr * fr + gi * fi
            aIm[k] = gi * fr - gr * fi
            b[k] = fr * fr + fi * fi
        }
        return (aRe, aIm, b)
    }

    /// Learns from one more detection of the object.
    mutating func update(_ setup: CorrelationSetup, _ luma: LumaPlane, _ box: Box) {
        let (nRe, nIm, nB) = Self.terms(setup, setup.spectrum(luma, box))
        let eta = CorrelationSetup.learningRate
        for k in b.indices {
            aRe[k] += eta * (nRe[k] - aRe[k])
            aIm[k] += eta * (nIm[k] - aIm[k])
            b[k] += eta * (nB[k] - b[k])
        }
    }

    /// Where the filter responds to the patch around `box`.
    struct Response {
        /// The response, size × size, row-major; the centre is `box`'s centre.
        var values: [Float]
        /// The peak's offset from `box`'s centre, in picture pixels (sub-pixel).
        var dx: Double
        var dy: Double
        var peak: Float
        /// Peak-to-sidelobe ratio: (peak − mean) / deviation of the response outside
        /// the peak's neighbourhood. MOSSE finds 20 to 60 on an object it follows,
        /// under 7 where it has lost it.
        var psr: Float
        /// Picture pixels per sample.
        var scaleX: Double
        var scaleY: Double

        /// The response at a point of the picture given as an offset from `box`'s
        /// centre, or nil outside the patch: how much what lies there looks like the
        /// object (about 1 for the object itself).
        func value(atOffsetX x: Double, y: Double) -> Float? {
            let n = CorrelationSetup.size
            let u = Double(n / 2) + x / scaleX
            let v = Double(n / 2) + y / scaleY
            guard u >= 0, v >= 0, u <= Double(n - 1), v <= Double(n - 1) else { return nil }
            let u0 = min(Int(u), n - 2)
            let v0 = min(Int(v), n - 2)
            let (au, av) = (Float(u - Double(u0)), Float(v - Double(v0)))
            let top = values[v0 * n + u0] + (values[v0 * n + u0 + 1] - values[v0 * n + u0]) * au
            let bottom = values[(v0 + 1) * n + u0] + (values[(v0 + 1) * n + u0 + 1] - values[(v0 + 1) * n + u0]) * au
            return top + (bottom - top) * av
        }
    }

    /// Correlates the filter with the patch around `box`.
    func respond(_ setup: CorrelationSetup, _ luma: LumaPlane, _ box: Box) -> Response {
        let n = CorrelationSetup.size
        var (re, im) = setup.spectrum(luma, box)
        let lambda = CorrelationSetup.regularisation
        for k in re.indices {
            let d = b[k] + lambda
            let (zr, zi) = (re[k], im[k])
            re[k] = (zr * aRe[k] - zi * aIm[k]) / d
            im[k] = (zr * aIm[k] + zi * aRe[k]) / d
        }
        setup.fft.transform(&re, &im, inverse: true)
        var best = 0
        for k in re.indices where re[k] > re[best] { best = k }
        let (px, py) = (best % n, best / n)
        // Sub-pixel peak: a parabola through the peak and its neighbours on each axis
        // (the response wraps around, as the transform does).
        func refine(_ minus: Float, _ centre: Float, _ plus: Float) -> Double {
            let curvature = minus - 2 * centre + plus
            return curvature < 0 ? Double(0.5 * (minus - plus) / curvature) : 0
        }
        let at = { (x: Int, y: Int) in re[((y + n) % n) * n + (x + n) % n] }
        let fx = Double(px) + refine(at(px - 1, py), re[best], at(px + 1, py))
        let fy = Double(py) + refine(at(px, py - 1), re[best], at(px, py + 1))
        // The sidelobe: all but a square of side n / 5 around the peak.
        let r = n / 10
        var (sum, squares, count): (Float, Float, Float) = (0, 0, 0)
        for y in 0..<n {
            let ny = min(abs(y - py), n - abs(y - py))
            for x in 0..<n {
                let nx = min(abs(x - px), n - abs(x - px))
                if nx <= r, ny <= r { continue }
                let v = re[y * n + x]
                sum += v
                squares += v * v
                count += 1
            }
        }
        let mean = sum / count
        let deviation = sqrt(max(squares / count - mean * mean, 1e-12))
        let scaleX = box.width * CorrelationSetup.padding / Double(n)
        let scaleY = box.height * CorrelationSetup.padding / Double(n)
        return Response(
            values: re, dx: (fx - Double(n / 2)) * scaleX, dy: (fy - Double(n / 2)) * scaleY, peak: re[best],
            psr: (re[best] - mean) / deviation, scaleX: scaleX, scaleY: scaleY)
    }
}
