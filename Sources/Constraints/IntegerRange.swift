/// Integer bounds as a pattern of decimal digits: the JSON integers from `minimum` to
/// `maximum` (either may be absent), written without leading zeros, as JSON writes them.
/// Each digit count is split by `FixedWidthRange`.
public enum IntegerRange {
    public static func pattern(minimum: Int64?, maximum: Int64?) -> RegexPattern? {
        if let minimum, let maximum, minimum > maximum { return nil }
        let minus = RegexPattern.characters([0x2D...0x2D])
        var branches: [RegexPattern] = []
        // Negative numbers: "-" and the magnitudes from max(1, -maximum) to -minimum.
        if (minimum ?? -1) < 0 {
            let low = UInt64(max(1, -(min(maximum ?? -1, -1))))
            let high = minimum.map { UInt64(-($0 + 1)) + 1 }
            branches.append(.sequence([minus, magnitudes(from: low, to: high)]))
        }
        if (maximum ?? 0) >= 0 {
            branches.append(magnitudes(from: UInt64(max(0, minimum ?? 0)), to: maximum.map(UInt64.init)))
        }
        return branches.count == 1 ? branches[0] : .choice(branches)
    }

    /// The numbers low...high (high nil: no bound), without leading zeros.
    static func magnitudes(from low: UInt64, to high: UInt64?) -> RegexPattern {
        var branches: [RegexPattern] = []
        var start = low
        let lowDigits = String(low).count
        let top = high ?? (lowDigits >= 19 ? UInt64.max : power(lowDigits) - 1)
        while start <= top {
            let digits = String(start).count
            let end = min(top, digits >= 20 ? UInt64.max : power(digits) - 1)
            branches += FixedWidthRange.split(Array(String(start).utf8).map { Int($0) - 48 },
                                              Array(String(end).utf8).map { Int($0) - 48 }, rest: 0...9)
                .map { .sequence($0.map { RegexPattern.characters([UInt32(48 + $0.lowerBound)...UInt32(48 + $0.upperBound)]) }) }
            if end == UInt64.max { break }
            start = end + 1
        }
        if high == nil, lowDigits < 19 {
            // Every longer number: [1-9] and at least `lowDigits` more digits.
            branches.append(.sequence([.characters([0x31...0x39]),
                                       .repeated(.characters([0x30...0x39]), minimum: lowDigits, maximum: nil)]))
        }
        return branches.count == 1 ? branches[0] : .choice(branches)
    }

    private static func power(_ digits: Int) -> UInt64 {
        (0..<digits).reduce(1) { result, _ in result * 10 }
    }
}
