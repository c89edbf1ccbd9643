/// Cuts the text of special tokens out of raw text before pre-tokenization, as llama.cpp's
/// `tokenizer_st_partition`: one special token at a time, longest text first, every occurrence in
/// every remaining text fragment becomes that token.
///
/// Control and unknown tokens are matched only when parsing specials; user-defined tokens always are
/// (llama.cpp follows Hugging Face tokenizers there).
struct SpecialTokenSplitter: Sendable {
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(TokenID)
    }

    struct Candidate: Sendable {
        var id: TokenID
        var text: [UInt8]
        /// Control or unknown: only matched when parsing specials.
        var onlyWhenParsingSpecial: Bool
        /// Whitespace next to the token is dropped on that side.
        var stripLeft: Bool
        var stripRight: Bool
    }

    private let candidates: [Candidate]

    init(candidates: [Candidate]) {
        // Longest first; equal lengths by id, to be deterministic where llama.cpp's std::sort is not.
        self.candidates = candidates.filter { !$0.text.isEmpty }.sorted {
            $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id
        }
    }

    func split(_ bytes: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        guard !bytes.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<bytes.count)]
        var next: [Fragment] = []
        // Most candidates start with a byte the text lacks (often '<'): skip them without a search.
        var present = [Bool](repeating: false, count: 256)
        for byte in bytes { present[Int(byte)] = true }
        for candidate in candidates where parseSpecial || !candidate.onlyWhenParsingSpecial {
            guard present[Int(candidate.text[0])] else { continue }
            guard fragments.contains(where: { if case .text = $0 { true } else { false } }) else { break }
            next.removeAll(keepingCapacity: true)
            var changed = false
            candidate.text.withUnsafeBufferPointer { needle in
                for fragment in fragments {
                    guard case .text(let range) = fragment else {
                        next.append(fragment)
                        continue
                    }
                    changed = cut(range, at: needle, as: candidate, in: bytes, into: &next) || changed
                }
            }
            if changed { swap(&fragments, &next) }  // unchanged: `next` is a copy of `fragments`
        }
        return fragments
    }

    /// Appends the pieces of `range` around each occurrence of `needle`; false if there was none.
    private func cut(
        _ range: Range<Int>, at needle: UnsafeBufferPointer<UInt8>, as candidate: Candidate,
        in bytes: UnsafeBufferPointer<UInt8>, into output: inout [Fragment]
    ) -> Bool {
        var rest = range
        var found = false
        while let match = Self.firstIndex(of: needle, in: bytes, within: rest) {
            found = true
            var leftEnd = match
            if candidate.stripLeft {
                while leftEnd > rest.lowerBound && Self.isSpace(bytes[leftEnd - 1]) { leftEnd -= 1 }
            }
            if leftEnd > rest.lowerBound { output.append(.text(rest.lowerBound..<leftEnd)) }
            output.append(.token(candidate.id))
            var rightStart = match + needle.count
            if candidate.stripRight {
                while rightStart < rest.upperBound && Self.isSpace(bytes[rightStart]) { rightStart += 1 }
            }
            rest = rightStart..<rest.upperBound
        }
        if !rest.isEmpty { output.append(.text(rest)) }
        return found
    }

    private static func firstIndex(
        of needle: UnsafeBufferPointer<UInt8>, in bytes: UnsafeBufferPointer<UInt8>, within range: Range<Int>
    ) -> Int? {
        let n = needle.count
        guard n > 0, range.count >= n else { return nil }
        let first = needle[0]
        var i = range.lowerBound
        let last = range.upperBound - n
        while i <= last {
            if bytes[i] == first {
                var j = 1
                while j < n && bytes[i + j] == needle[j] { j += 1 }
                if j == n { return i }
            }
            i += 1
        }
        return nil
    }

    /// C's `isspace` in the "C" locale, which llama.cpp uses for lstrip/rstrip.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (0x09...0x0D).contains(byte)
    }
}
