/// Code points and their classes, scanned by the pre-tokenizer passes. Each pass works inside one
/// piece `[lower, upper)` left by the previous pass and never looks past it: llama.cpp treats a piece's
/// end like the end of the text (so `\s+(?!\S)` keeps a whole trailing run of spaces).
struct ScannedText {
    let scalars: UnsafeBufferPointer<UInt32>
    let flags: UnsafeBufferPointer<CodepointFlags>

    private static let apostrophe: UInt32 = 0x27, space: UInt32 = 0x20
    private static let carriageReturn: UInt32 = 0x0D, lineFeed: UInt32 = 0x0A

    /// Appends the end of every piece `pass` cuts `piece` into.
    func split(_ piece: Range<Int>, by pass: PreTokenizer.Pass, into ends: inout [Int]) {
        switch pass {
        case .gpt2: scanGPT2(piece, into: &ends)
        case .llama3(let maxDigits): scanLlama3(piece, maxDigits: maxDigits, into: &ends)
        case .numbers(let unbounded):
            splitRuns(piece, maxRun: unbounded ? Int.max : 1, into: &ends) { flags[$0].contains(.number) }
        case .punctuationRuns(let withBacktick):
            splitRuns(piece, maxRun: Int.max, into: &ends) { i in
                if flags[i].contains(.punctuation) { return true }
                switch scalars[i] {
                case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true  // $ + < = > ^ ~ |
                case 0x60: return withBacktick
                default: return false
                }
            }
        case .asciiDigitTriples:
            splitDigitTriples(piece, into: &ends)
        }
    }

    // MARK: - Simple character-class regexes

    /// `[class]` (maxRun 1) or `[class]+`: each match is a piece, and so is each gap between matches.
    private func splitRuns(_ piece: Range<Int>, maxRun: Int, into ends: inout [Int], matches: (Int) -> Bool) {
        var pos = piece.lowerBound
        while pos < piece.upperBound {
            let start = pos
            if matches(pos) {
                pos += 1
                while pos < piece.upperBound && pos - start < maxRun && matches(pos) { pos += 1 }
            } else {
                pos += 1
                while pos < piece.upperBound && !matches(pos) { pos += 1 }
            }
            ends.append(pos)
        }
    }

    /// `[0-9][0-9][0-9]`: leftmost non-overlapping triples of ASCII digits; whatever lies between is a piece.
    private func splitDigitTriples(_ piece: Range<Int>, into ends: inout [Int]) {
        func isDigit(_ i: Int) -> Bool { (0x30...0x39).contains(scalars[i]) }
        var gapStart = piece.lowerBound, pos = piece.lowerBound
        while pos < piece.upperBound {
            if pos + 3 <= piece.upperBound && isDigit(pos) && isDigit(pos + 1) && isDigit(pos + 2) {
                if pos > gapStart { ends.append(pos) }
                pos += 3
                ends.append(pos)
                gapStart = pos
            } else {
                pos += 1
            }
        }
        if piece.upperBound > gapStart { ends.append(piece.upperBound) }
    }

    // MARK: - GPT-2 and Llama 3 regexes

    /// Flags inside the piece; empty (matching no class at all) past its end, as llama.cpp's `_get_flags`.
    @inline(__always)
    private func flags(_ i: Int, _ piece: Range<Int>) -> CodepointFlags {
        piece.contains(i) ? flags[i] : []
    }

    @inline(__always)
    private func scalar(_ i: Int, _ piece: Range<Int>) -> UInt32? {
        piece.contains(i) ? scalars[i] : nil
    }

    /// Length of the contraction (`'s` … `'ll`) starting at `pos`, or 0.
    private func contractionLength(at pos: Int, _ piece: Range<Int>, caseInsensitive: Bool) -> Int {
        guard scalars[pos] == Self.apostrophe, pos + 1 < piece.upperBound else { return 0 }
        func lower(_ c: UInt32) -> UInt32 {
            caseInsensitive && (0x41...0x5A).contains(c) ? c + 0x20 : c
        }
        let next = lower(scalars[pos + 1])
        if next == 0x73 || next == 0x74 || next == 0x6D || next == 0x64 { return 2 }  // s t m d
        guard pos + 2 < piece.upperBound else { return 0 }
        let third = lower(scalars[pos + 2])
        if (next == 0x72 && third == 0x65) || (next == 0x76 && third == 0x65) || (next == 0x6C && third == 0x6C) {
            return 3  // re ve ll
        }
        return 0
    }

    /// Number of whitespace code points from `pos` on, and the end of the last \r or \n among them (0 if none).
    private func whitespaceRun(from pos: Int, _ piece: Range<Int>) -> (count: Int, lineBreakEnd: Int) {
        var count = 0, lineBreakEnd = 0
        while flags(pos + count, piece).contains(.whitespace) {
            let c = scalars[pos + count]
            if c == Self.carriageReturn || c == Self.lineFeed { lineBreakEnd = pos + count + 1 }
            count += 1
        }
        return (count, lineBreakEnd)
    }

    private func scanGPT2(_ piece: Range<Int>, into ends: inout [Int]) {
        var pos = piece.lowerBound
        while pos < piece.upperBound {
            let c = scalars[pos]
            let contraction = contractionLength(at: pos, piece, caseInsensitive: false)
            if contraction > 0 {
                pos += contraction
                ends.append(pos)
                continue
            }
            // An optional leading ' ' (only U+0020) joins a following letter, number or symbol run.
            let lead = c == Self.space ? flags(pos + 1, piece) : flags[pos]
            let skip = c == Self.space ? 1 : 0
            if lead.contains(.letter) || lead.contains(.number) {
                let runClass: CodepointFlags = lead.contains(.letter) ? .letter : .number
                pos += skip
                while flags(pos, piece).contains(runClass) { pos += 1 }
                ends.append(pos)
                continue
            }
            if lead.isDisjoint(with: .spaceLetterNumber) && !lead.isEmpty {
                pos += skip
                while case let f = flags(pos, piece), !f.isEmpty, f.isDisjoint(with: .spaceLetterNumber) { pos += 1 }
                ends.append(pos)
                continue
            }
            let run = whitespaceRun(from: pos, piece)
            // \s+(?!\S): before a non-space, leave the last whitespace to prefix the next word.
            if run.count > 1 && pos + run.count < piece.upperBound {
                pos += run.count - 1
            } else {
                pos += max(run.count, 1)
            }
            ends.append(pos)
        }
    }

    private func scanLlama3(_ piece: Range<Int>, maxDigits: Int, into ends: inout [Int]) {
        var pos = piece.lowerBound
        while pos < piece.upperBound {
            let c = scalars[pos], f = flags[pos]
            let contraction = contractionLength(at: pos, piece, caseInsensitive: true)
            if contraction > 0 {
                pos += contraction
                ends.append(pos)
                continue
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == Self.carriageReturn || c == Self.lineFeed || f.contains(.number))
                && (f.contains(.letter) || flags(pos + 1, piece).contains(.letter)) {
                pos += 1
                while flags(pos, piece).contains(.letter) { pos += 1 }
                ends.append(pos)
                continue
            }
            // \p{N}{1,maxDigits}
            if f.contains(.number) {
                var groupStart = pos
                while flags(pos, piece).contains(.number) {
                    pos += 1
                    if pos - groupStart >= maxDigits {
                        ends.append(pos)
                        groupStart = pos
                    }
                }
                if pos > groupStart { ends.append(pos) }
                continue
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            let lead = c == Self.space ? flags(pos + 1, piece) : f
            if lead.isDisjoint(with: .spaceLetterNumber) {
                if c == Self.space { pos += 1 }
                while case let f = flags(pos, piece), !f.isEmpty, f.isDisjoint(with: .spaceLetterNumber) { pos += 1 }
                while let c = scalar(pos, piece), c == Self.carriageReturn || c == Self.lineFeed { pos += 1 }
                ends.append(pos)
                continue
            }
            let run = whitespaceRun(from: pos, piece)
            if run.lineBreakEnd > 0 {
                pos = run.lineBreakEnd  // \s*[\r\n]+
            } else if run.count > 1 && pos + run.count < piece.upperBound {
                pos += run.count - 1    // \s+(?!\S)
            } else {
                pos += max(run.count, 1)  // \s+
            }
            ends.append(pos)
        }
    }
}
