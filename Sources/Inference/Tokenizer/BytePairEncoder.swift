/// GPT-2-style byte-level BPE, as llama.cpp's `llm_tokenizer_bpe_session`: each byte of a word starts
/// as one symbol (its byte-level character), then the adjacent pair with the lowest merge rank is
/// merged (leftmost first on ties) until no pair has a rank.
///
/// Symbols are ids in the shared `TokenTable`. Strings that merges produce but the vocabulary lacks
/// get ids past the vocabulary, so ranks stay keyed by id pairs; such a symbol left at the end falls
/// back to one token per byte of its spelling, as llama.cpp does.
struct BytePairEncoder: Sendable {
    private let merges: MergeTable
    /// The symbol id of each byte's one-character spelling.
    private let byteSymbols: [Int32]
    private let vocabularyCount: Int32
    /// Llama 3 style: a word that is already a token is taken whole, without merging.
    let ignoreMerges: Bool

    /// Reusable buffers, so encoding a word allocates nothing once they have grown.
    struct Workspace {
        var symbols: [Int32] = []
        var previous: [Int32] = []
        var next: [Int32] = []
        var queue = BinaryHeap<Candidate>()
        var spelling: [UInt8] = []
    }

    /// A possible merge of `left` with the symbol after it, valid while both still hold these ids.
    struct Candidate: Comparable {
        var rank: Int32
        var left: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32
        var result: Int32

        static func < (a: Candidate, b: Candidate) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.left < b.left
        }
    }

    /// Parses `merges` ("left right", highest priority first) and adds their strings to `table`.
    init(merges mergeList: [String], table: inout TokenTable, vocabularyCount: Int, ignoreMerges: Bool) {
        self.vocabularyCount = Int32(vocabularyCount)
        self.ignoreMerges = ignoreMerges
        var merges = MergeTable(minimumCapacity: mergeList.count)
        var joined: [UInt8] = []
        for (rank, merge) in mergeList.enumerated() {
            var merge = merge
            merge.withUTF8 { bytes in
                // Split at the first space after the first byte (a merge's left part is never empty).
                guard bytes.count > 1, let space = bytes[1...].firstIndex(of: 0x20) else { return }
                let left = UnsafeBufferPointer(rebasing: bytes[..<space])
                let right = UnsafeBufferPointer(rebasing: bytes[(space + 1)...])
                joined.removeAll(keepingCapacity: true)
                joined.append(contentsOf: left)
                joined.append(contentsOf: right)
                let leftID = table.insert(left).id, rightID = table.insert(right).id
                let result = joined.withUnsafeBufferPointer { table.insert($0).id }
                merges.insertIfAbsent(leftID, rightID, .init(rank: Int32(rank), result: result))
            }
        }
        self.merges = merges
        byteSymbols = ByteLevelAlphabet.utf8.map { table.insert($0).id }
    }

    /// Appends the tokens of one pre-tokenized word (raw UTF-8 bytes) to `output`.
    func encode(
        _ word: UnsafeBufferPointer<UInt8>, table: TokenTable, into output: inout [TokenID], workspace w: inout Workspace
    ) {
        let count = word.count
        guard count > 0 else { return }
        if ignoreMerges {
            w.spelling.removeAll(keepingCapacity: true)
            for byte in word { w.spelling.append(contentsOf: ByteLevelAlphabet.utf8[Int(byte)]) }
            if let id = w.spelling.withUnsafeBufferPointer({ table.find($0) }), id < vocabularyCount {
                output.append(id)
                return
            }
        }
        w.symbols.removeAll(keepingCapacity: true)
        w.previous.removeAll(keepingCapacity: true)
        w.next.removeAll(keepingCapacity: true)
        w.queue.removeAll()
        for (i, byte) in word.enumerated() {
            w.symbols.append(byteSymbols[Int(byte)])
            w.previous.append(Int32(i - 1))
            w.next.append(i + 1 < count ? Int32(i + 1) : -1)
        }
        for i in 1..<count { addCandidate(left: Int32(i - 1), right: Int32(i), &w) }

        while let candidate = w.queue.pop() {
            let left = Int(candidate.left)
            let right = Int(w.next[left])
            // Stale if either side has merged since: then its symbol id differs.
            guard right >= 0, w.symbols[left] == candidate.leftSymbol, w.symbols[right] == candidate.rightSymbol
            else { continue }
            w.symbols[left] = candidate.result
            w.symbols[right] = -1
            let after = w.next[right]
            w.next[left] = after
            if after >= 0 { w.previous[Int(after)] = Int32(left) }
            if w.previous[left] >= 0 { addCandidate(left: w.previous[left], right: Int32(left), &w) }
            if after >= 0 { addCandidate(left: Int32(left), right: after, &w) }
        }

        // Symbol 0 never merges away: merges fold the right symbol into the left.
        var i: Int32 = 0
        while i >= 0 {
            emit(w.symbols[Int(i)], table: table, into: &output)
            i = w.next[Int(i)]
        }
    }

    @inline(__always)
    private func addCandidate(left: Int32, right: Int32, _ w: inout Workspace) {
        let leftSymbol = w.symbols[Int(left)], rightSymbol = w.symbols[Int(right)]
        guard let merge = merges.find(leftSymbol, rightSymbol) else { return }
        w.queue.push(Candidate(rank: merge.rank, left: left, leftSymbol: leftSymbol, rightSymbol: rightSymbol,
                               result: merge.result))
    }

    private func emit(_ symbol: Int32, table: TokenTable, into output: inout [TokenID]) {
        if symbol < vocabularyCount {
            output.append(symbol)
            return
        }
        // Not a token: llama.cpp looks up each byte of the spelling as a one-byte string, dropping misses.
        for byte in table.bytes(of: symbol) {
            if let id = table.find(CollectionOfOne(byte)), id < vocabularyCount { output.append(id) }
        }
    }
}
