/// Unicode scalar ranges as alternatives of UTF-8 byte sequences, so a grammar over bytes
/// can say "any character but these". Surrogates (U+D800–U+DFFF) are never produced.
public enum UTF8Ranges {
    /// Alternatives, each one byte set per byte, matching exactly the UTF-8 encodings of
    /// the scalars in `range`.
    public static func sequences(_ range: ClosedRange<UInt32>) -> [[ByteSet]] {
        var result: [[ByteSet]] = []
        // Split at the encoding-length boundaries and around the surrogates.
        let pieces: [ClosedRange<UInt32>] = [0...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        for piece in pieces where piece.overlaps(range) {
            let low = max(piece.lowerBound, range.lowerBound), high = min(piece.upperBound, range.upperBound)
            result += split(low, high)
        }
        return result
    }

    /// Every character but the ASCII bytes in `excludedASCII` (and, when
    /// `controls` is false, but U+0000–U+001F).
    public static func anyCharacter(excludingASCII excluded: ByteSet, controls: Bool = true) -> [[ByteSet]] {
        var ascii = ByteSet(controls ? 0...0x7F : 0x20...0x7F).subtracting(excluded)
        if ascii.isEmpty { ascii = ByteSet() }
        var result: [[ByteSet]] = ascii.isEmpty ? [] : [[ascii]]
        result += sequences(0x80...0x10FFFF)
        return result
    }

    /// Scalars low...high of one encoding length as byte-set sequences: ranges whose
    /// continuation bytes span all of 80–BF collapse into one sequence.
    private static func split(_ low: UInt32, _ high: UInt32) -> [[ByteSet]] {
        let length = low <= 0x7F ? 1 : low <= 0x7FF ? 2 : low <= 0xFFFF ? 3 : 4
        if length == 1 { return [[ByteSet(UInt8(low)...UInt8(high))]] }
        return splitRange(encode(low), encode(high))
    }

    /// Byte sequences a...b (same length, a ≤ b), as byte-set sequences: the classic split
    /// of a range of fixed-length keys into prefix, full middle and suffix parts.
    private static func splitRange(_ a: [UInt8], _ b: [UInt8]) -> [[ByteSet]] {
        if a.count == 1 { return [[ByteSet(a[0]...b[0])]] }
        let restLow = Array(repeating: UInt8(0x80), count: a.count - 1)
        let restHigh = Array(repeating: UInt8(0xBF), count: a.count - 1)
        if a[0] == b[0] {
            return splitRange(Array(a.dropFirst()), Array(b.dropFirst())).map { [ByteSet([a[0]])] + $0 }
        }
        var result: [[ByteSet]] = []
        var firstFull = a[0], lastFull = b[0]
        if Array(a.dropFirst()) != restLow {
            result += splitRange(Array(a.dropFirst()), restHigh).map { [ByteSet([a[0]])] + $0 }
            firstFull += 1
        }
        var tail: [[ByteSet]] = []
        if Array(b.dropFirst()) != restHigh {
            tail = splitRange(restLow, Array(b.dropFirst())).map { [ByteSet([b[0]])] + $0 }
            lastFull -= 1
        }
        if firstFull <= lastFull {
            result.append([ByteSet(firstFull...lastFull)] + Array(repeating: ByteSet(0x80...0xBF), count: a.count - 1))
        }
        return result + tail
    }

    private static func encode(_ scalar: UInt32) -> [UInt8] {
        Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
    }
}
