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
            let power = exactPowerOfTen(decimals)
            // Candidates 1/10^decimals apart, at least 4 ulps: at most one converts back,
            // the integer nearest v × 10^decimals (below 2^51 here, so UInt64 holds it).
            guard v.ulp * power <= 0.25 else { return nil }
            let whole = Double(UInt64(v * power))
            if whole / power == v { return (UInt64(whole), decimals) }
            if (whole + 1) / power == v { return (UInt64(whole + 1), decimals) }
        }
        return nil
    }
}

/// 10^`k` for `k` in 0...22, each exact in a Double: a decimal of at most 15
/// significant digits times or over one of these is a single correctly rounded
/// operation (Clinger's fast path). Literals, not a table: no lazy global to check on
/// every call.
public func exactPowerOfTen(_ k: Int) -> Double {
    switch k {
    case 0: 1
    case 1: 1e1
    case 2: 1e2
    case 3: 1e3
    case 4: 1e4
    case 5: 1e5
    case 6: 1e6
    case 7: 1e7
    case 8: 1e8
    case 9: 1e9
    case 10: 1e10
    case 11: 1e11
    case 12: 1e12
    case 13: 1e13
    case 14: 1e14
    case 15: 1e15
    case 16: 1e16
    case 17: 1e17
    case 18: 1e18
    case 19: 1e19
    case 20: 1e20
    case 21: 1e21
    case 22: 1e22
    default: preconditionFailure("10^\(k) is not exact in a Double")
    }
}
