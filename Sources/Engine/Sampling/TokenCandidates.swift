import Inference

/// The tokens still in the running for one draw, with their (processed) logits: llama.cpp's
/// `llama_token_data_array`, laid out as two arrays so `exp` and max loops vectorize.
///
/// It starts as the whole row with implicit ids (`isIdentity`: entry `i` is token `i`), which
/// lets the first stages change single tokens in O(1). Narrowing compacts in place and keeps
/// order, so an unsorted set always lists ids in ascending order; sorting is by logit
/// descending, ties by ascending id. Valid only while the row and workspace it borrows are.
public struct TokenCandidates {
    /// Entries `0..<count` are the candidates' logits; the buffer is the model's output row.
    public let logits: UnsafeMutableBufferPointer<Float>
    public private(set) var count: Int
    /// Entry `i` is token `i` (the whole vocabulary, in order); `ids` holds nothing yet.
    public private(set) var isIdentity = true
    /// Sorted by logit, highest first (ties by lower id).
    public private(set) var isSorted = false
    /// Index of the chosen candidate, set by the chain's last stage.
    public var selected: Int?

    let ids: UnsafeMutablePointer<TokenID>
    /// Per-draw temporary of vocabulary size, free for any stage to overwrite.
    let scratch: UnsafeMutablePointer<Float>
    let blockSums: UnsafeMutablePointer<Float>

    /// Wraps a logits row; the row is processed in place and must outlive the candidates.
    public init(row: UnsafeMutableBufferPointer<Float>, workspace: borrowing SamplingWorkspace) {
        precondition(row.count == workspace.vocabularySize, "row and workspace vocabulary sizes differ")
        logits = row
        count = row.count
        ids = workspace.ids.baseAddress!
        scratch = workspace.scratch.baseAddress!
        blockSums = workspace.blockSums.baseAddress!
    }

    /// The token at candidate index `i`.
    @inline(__always)
    public func id(at i: Int) -> TokenID {
        isIdentity ? TokenID(truncatingIfNeeded: i) : ids[i]
    }

    /// The candidate index of `token`, if it is still a candidate: O(1) before any narrowing.
    public func index(of token: TokenID) -> Int? {
        if isIdentity { return token >= 0 && Int(token) < count ? Int(token) : nil }
        return (0..<count).first { ids[$0] == token }
    }

    /// The highest logit among the candidates.
    public func maxLogit() -> Float {
        isSorted ? logits[0] : VectorMath.max(logits.baseAddress!, count)
    }

    /// Keeps the candidates whose logit is at least `threshold`, in order; at most `limit`
    /// of those equal to `threshold` survive (the lowest-id ones), for exact top-k on ties.
    public mutating func keep(atLeast threshold: Float, tiesAllowed limit: Int = .max) {
        let l = logits.baseAddress!
        let identity = isIdentity
        var kept = 0
        var ties = limit
        // In place: the write index never passes the read index.
        VectorMath.forEachRun(of: l, count, reaching: { threshold }) { block in
            for i in block {
                let x = l[i]
                guard x > threshold || (x == threshold && ties > 0) else { continue }
                if x == threshold { ties -= 1 }
                ids[kept] = identity ? TokenID(truncatingIfNeeded: i) : ids[i]
                l[kept] = x
                kept += 1
            }
            return true
        }
        guard kept > 0 else { return }  // nothing reached the bar (NaN row): leave it as it was
        count = kept
        isIdentity = false
    }

    /// Keeps the first `k` candidates; requires sorted candidates.
    public mutating func truncate(to k: Int) {
        precondition(isSorted, "truncate needs sorted candidates")
        count = min(count, max(k, 1))
    }

    /// Sorts by logit descending, ties by ascending id. O(count log count): narrow first.
    public mutating func sortDescending() {
        guard !isSorted else { return }
        let l = logits.baseAddress!
        var pairs = (0..<count).map { (logit: l[$0], id: id(at: $0)) }
        pairs.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        for (i, pair) in pairs.enumerated() {
            l[i] = pair.logit
            ids[i] = pair.id
        }
        isIdentity = false
        isSorted = true
    }

    /// Selects candidate `i` as the drawn token.
    public mutating func select(_ i: Int) {
        precondition(i >= 0 && i < count, "selected index out of range")
        selected = i
    }
}
