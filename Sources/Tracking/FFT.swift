import Foundation

/// A two-dimensional discrete Fourier transform of a fixed power-of-two size, in
/// place on split real and imaginary planes (radix-2, iterative, twiddles computed
/// once). trackd's own rather than FFTW's: the correlation filters work on one small
/// size, and a transform whose every operation is fixed gives the same bits on every
/// CPU, where FFTW picks its kernels (and so its rounding) by the machine it runs on,
/// and keeps its plans in global state.
struct FFT2D: Sendable {
    let size: Int
    private let cosines: [Float]
    private let sines: [Float]
    private let reversed: [Int]

    /// `size`: a power of two, at least 2.
    init(size: Int) {
        precondition(size >= 2 && size & (size - 1) == 0, "the FFT size must be a power of two")
        self.size = size
        let half = size / 2
        cosines = (0..<half).map { Float(cos(2 * Double.pi * Double($0) / Double(size))) }
        sines = (0..<half).map { Float(sin(2 * Double.pi * Double($0) / Double(size))) }
        let bits = size.trailingZeroBitCount
        reversed = (0..<size).map { k in
            var r = 0
            for b in 0..<bits where k & (1 << b) != 0 { r |= 1 << (bits - 1 - b) }
            return r
        }
    }

    /// The forward transform (`inverse`: the inverse, scaled by 1 / size²) of the
    /// size × size planes, row-major.
    func transform(_ re: inout [Float], _ im: inout [Float], inverse: Bool = false) {
        let n = size
        re.withUnsafeMutableBufferPointer { r in
            im.withUnsafeMutableBufferPointer { i in
                for row in 0..<n { line(r.baseAddress! + row * n, i.baseAddress! + row * n, stride: 1, inverse) }
                for column in 0..<n { line(r.baseAddress! + column, i.baseAddress! + column, stride: n, inverse) }
                if inverse {
                    let scale = 1 / Float(n * n)
                    for k in 0..<(n * n) {
                        r[k] *= scale
                        i[k] *= scale
                    }
                }
            }
        }
    }

    /// One row or column: `size` values `stride` apart.
    private func line(_ re: UnsafeMutablePointer<Float>, _ im: UnsafeMutablePointer<Float>, stride: Int, _ inverse: Bool) {
        let n = size
        for k in 0..<n {
            let j = reversed[k]
            if j > k {
                swap(&re[k * stride], &re[j * stride])
                swap(&im[k * stride], &im[j * stride])
            }
        }
        let sign: Float = inverse ? 1 : -1
        var length = 2
        while length <= n {
            let step = n / length
            for start in Swift.stride(from: 0, to: n, by: length) {
                for k in 0..<(length / 2) {
                    let wr = cosines[k * step]
                    let wi = sign * sines[k * step]
                    let a = (start + k) * stride
                    let b = (start + k + length / 2) * stride
                    let tr = re[b] * wr - im[b] * wi
                    let ti = re[b] * wi + im[b] * wr
                    re[b] = re[a] - tr
                    im[b] = im[a] - ti
                    re[a] += tr
                    im[a] += ti
                }
            }
            length *= 2
        }
    }
}
