/// Integer bounds as a pattern of decimal digits: the JSON integers from `minimum` to
/// `maximum` (either may be absent), written without leading zeros, as JSON writes them.
/// The classic split of a range of fixed-length numbers into a prefix, a full middle and
/// a suffix part, per digit count.
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
            branches += split(Array(String(start).utf8).map { Int($0) - 48 }, Array(String(end).utf8).map { Int($0) - 48 })
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

    /// Digit-range sequences covering a...b exactly (same length, a ≤ b).
    private static func split(_ a: [Int], _ b: [Int]) -> [[ClosedRange<Int>]] {
        if a.count == 1 { return [[a[0]...b[0]]] }
        let restA = Array(a.dropFirst()), restB = Array(b.dropFirst())
        if a[0] == b[0] { return split(restA, restB).map { [a[0]...a[0]] + $0 } }
        var result: [[ClosedRange<Int>]] = []
        var first = a[0], last = b[0]
        if restA.contains(where: { $0 != 0 }) {
            result += split(restA, Array(repeating: 9, count: restA.count)).map { [a[0]...a[0]] + $0 }
            first += 1
        }
        var tail: [[ClosedRange<Int>]] = []
        if restB.contains(where: { $0 != 9 }) {
            tail = split(Array(repeating: 0, count: restB.count), restB).map { [b[0]...b[0]] + $0 }
            last -= 1
        }
        if first <= last { result.append([first...last] + Array(repeating: 0...9, count: restA.count)) }
        return result + tail
    }
}
