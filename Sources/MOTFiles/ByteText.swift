/// Numbers written straight into a byte buffer, for the exporters: millions of rows
/// without a String per number.
extension [UInt8] {
    /// Appends `n` in decimal.
    public mutating func appendDecimal(_ n: Int) {
        if n < 0 { append(UInt8(ascii: "-")) }
        var rest = n.magnitude
        // Digits from the right into a 24-byte scratch on the stack, then one append.
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &scratch) { buffer in
            var i = buffer.count
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i...]))
        }
    }

    /// Appends `value` exactly as `value.description` reads: the shortest decimal that
    /// converts back to the same Double. Values with at most 6 decimals between 10^-4
    /// and 10^15 (every box, score and time trackd logs) are written here directly;
    /// others through `description`.
    public mutating func appendShortest(_ value: Double) {
        guard let (digits, decimals) = Self.shortFixed(value) else { return append(contentsOf: value.description.utf8) }
        if value.sign == .minus { append(UInt8(ascii: "-")) }
        // Digits from the right, the point `decimals` in (at least one digit each side).
        var rest = digits
        var scratch: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        Swift.withUnsafeMutableBytes(of: &scratch) { buffer in
            var i = buffer.count
            if decimals == 0 {
                i -= 2
                buffer[i] = UInt8(ascii: ".")
                buffer[i + 1] = UInt8(ascii: "0")
            }
            var written = 0
            repeat {
                i -= 1
                buffer[i] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                written += 1
                if written == decimals {
                    i -= 1
                    buffer[i] = UInt8(ascii: ".")
                }
            } while rest > 0 || written <= decimals
            append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[i...]))
        }
    }

    /// `|value|` as `digits` / 10^`decimals` with the fewest decimals (at most 6) that
    /// convert back exactly, when that decimal is the only one with so few decimals
    /// near `value` (so it is the one `description` picks); nil otherwise.
    private static func shortFixed(_ value: Double) -> (UInt64, Int)? {
        let v = value.magnitude
        guard v == 0 || (v >= 1e-4 && v < 1e15) else { return nil }
        for decimals in 0...6 {
            let power = exactPowersOfTen[decimals]
            // Candidates 1/10^decimals apart, at least 4 ulps: at most one converts back.
            guard 1 / power >= 4 * v.ulp else { return nil }
            let nearest = (v * power).rounded()
            if nearest / power == v { return (UInt64(nearest), decimals) }
            // v × 10^decimals is rounded once: the decimal that converts back may be
            // the next one either side.
            if nearest >= 1, (nearest - 1) / power == v { return (UInt64(nearest - 1), decimals) }
            if (nearest + 1) / power == v { return (UInt64(nearest + 1), decimals) }
        }
        return nil
    }
}

/// 10^0 ... 10^22, each exact in a Double: a decimal of at most 15 significant digits
/// times or over one of these is a single correctly rounded operation (Clinger's fast
/// path).
public let exactPowersOfTen: [Double] = (0...22).map { k in (0..<k).reduce(1.0) { x, _ in x * 10 } }
