/// SentencePiece BPE as llama.cpp's `llm_tokenizer_spm_session`: each UTF-8 character starts as a
/// symbol; the adjacent pair whose concatenation is the highest-scoring token merges first (leftmost
/// on ties), until no adjacent pair spells a token. A leftover symbol that is not a token (a
/// character missing from the vocabulary) becomes one `<0xNN>` token per byte.
///
/// llama.cpp also keeps a `rev_merge` map to re-split non-token symbols, but merges only ever produce
/// tokens, so only single characters can be non-tokens and the byte fallback is all that happens.
struct SentencePieceEncoder: Sendable {
    /// Token of each byte: `<0xNN>`, else the one-byte string; nil if neither exists.
    private let byteTokens: [TokenID?]
    private let unknown: TokenID?
    private let scores: [Float]
    private let vocabularyCount: Int

    struct Workspace {
        var start: [Int32] = []
        var length: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var queue = BinaryHeap<Candidate>()
    }

    /// A possible merge of `left` and `right` into a token of `score` spanning `length` bytes.
    struct Candidate: Comparable {
        var score: Float
        var left: Int32
        var right: Int32
        var length: Int32

        /// "Comes first": higher score, then further left.
        static func < (a: Candidate, b: Candidate) -> Bool {
            a.score != b.score ? a.score > b.score : a.left < b.left
        }
    }

    init(table: TokenTable, scores: [Float], vocabularyCount: Int, unknown: TokenID?) {
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { byte -> TokenID? in
            let name = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
            if let id = table.find(name), id < vocabularyCount { return id }
            if let id = table.find([UInt8(byte)]), id < vocabularyCount { return id }
            return nil
        }
        self.scores = scores
        self.vocabularyCount = vocabularyCount
        self.unknown = unknown
    }

    /// Appends the tokens of `text` (spaces already escaped as "▁") to `output`.
    func encode(
        _ text: UnsafeBufferPointer<UInt8>, table: TokenTable, into output: inout [TokenID], workspace w: inout Workspace
    ) {
        guard !text.isEmpty else { return }
        w.start.removeAll(keepingCapacity: true)
        w.length.removeAll(keepingCapacity: true)
        w.previous.removeAll(keepingCapacity: true)
        w.next.removeAll(keepingCapacity: true)
        w.queue.removeAll()
        var offset = 0
        while offset < text.count {
            let length = min(Self.utf8Length(lead: text[offset]), text.count - offset)
            w.previous.append(Int32(w.start.count - 1))
            w.start.append(Int32(offset))
            w.length.append(Int32(length))
            offset += length
            w.next.append(offset == text.count ? -1 : Int32(w.start.count))
        }
        for i in 1..<w.start.count { addCandidate(left: i - 1, right: i, text, table, &w) }

        while let candidate = w.queue.pop() {
            let left = Int(candidate.left), right = Int(candidate.right)
            // Stale if either side merged since (then the lengths no longer add up).
            guard w.length[left] > 0, w.length[right] > 0, w.length[left] + w.length[right] == candidate.length
            else { continue }
            w.length[left] += w.length[right]
            w.length[right] = 0
            let after = w.next[right]
            w.next[left] = after
            if after >= 0 { w.previous[Int(after)] = Int32(left) }
            if w.previous[left] >= 0 { addCandidate(left: Int(w.previous[left]), right: left, text, table, &w) }
            if after >= 0 { addCandidate(left: left, right: Int(after), text, table, &w) }
        }

        var i = 0
        while i >= 0 {
            let piece = UnsafeBufferPointer(rebasing: text[Int(w.start[i])..<Int(w.start[i] + w.length[i])])
            if let id = table.find(piece), id < vocabularyCount {
                output.append(id)
            } else {
                for byte in piece {
                    if let id = byteTokens[Int(byte)] ?? unknown { output.append(id) }
                }
            }
            i = Int(w.next[i])
        }
    }

    private func addCandidate(
        left: Int, right: Int, _ text: UnsafeBufferPointer<UInt8>, _ table: TokenTable, _ w: inout Workspace
    ) {
        // Adjacent symbols are contiguous in the text, so their concatenation is a slice.
        let start = Int(w.start[left]), length = Int(w.length[left] + w.length[right])
        guard let id = table.find(UnsafeBufferPointer(rebasing: text[start..<start + length])),
              id < vocabularyCount else { return }
        w.queue.push(Candidate(score: scores[Int(id)], left: Int32(left), right: Int32(right), length: Int32(length)))
    }

    /// Bytes in the UTF-8 sequence a lead byte starts (1 for stray continuation bytes), as llama.cpp's `unicode_len_utf8`.
    static func utf8Length(lead: UInt8) -> Int {
        switch lead >> 4 {
        case 0xC, 0xD: 2
        case 0xE: 3
        case 0xF: 4
        default: 1
        }
    }
}
