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
        let ascii = ByteSet(controls ? 0...0x7F : 0x20...0x7F).subtracting(excluded)
        var result: [[ByteSet]] = ascii.isEmpty ? [] : [[ascii]]
        result += sequences(0x80...0x10FFFF)
        return result
    }

    /// Scalars low...high of one encoding length as byte-set sequences: ranges whose
    /// continuation bytes span all of 80–BF collapse into one sequence.
    private static func split(_ low: UInt32, _ high: UInt32) -> [[ByteSet]] {
        FixedWidthRange.split(encode(low).map(Int.init), encode(high).map(Int.init), rest: 0x80...0xBF)
            .map { $0.map { ByteSet(UInt8($0.lowerBound)...UInt8($0.upperBound)) } }
    }

    private static func encode(_ scalar: UInt32) -> [UInt8] {
        Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
    }
}
