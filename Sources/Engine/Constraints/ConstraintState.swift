import Constraints
import Inference

/// One sequence's place in its constraint: the matcher state after the tokens it has
/// generated. Masks a logits row to the tokens that keep the output possible, and lets the
/// end tokens through only where the output is complete.
public struct ConstraintState: Sendable {
    public let compiled: CompiledConstraint
    public private(set) var matcher: GrammarMatcher

    public init(_ compiled: CompiledConstraint) {
        self.compiled = compiled
        matcher = compiled.start
    }

    /// Whether the output so far is a whole value the constraint accepts.
    public var isComplete: Bool { matcher.isComplete }

    /// Sets every token the constraint does not allow next to -inf; `ends` (end of
    /// generation, `stop_token_ids`) keep their logits only where the output is complete.
    /// False, and the row unchanged, at a dead end: no token is allowed and the output is
    /// not complete.
    ///
    /// - Parameter row: [vocabulary] logits, changed in place.
    public func mask(_ row: UnsafeMutableBufferPointer<Float>, ends: [TokenID]) -> Bool {
        let allowed = compiled.masks.allowedTokens(after: matcher)
        let complete = matcher.isComplete
        guard complete || !allowed.isEmpty else { return false }
        let kept = complete ? ends.map { row[Int($0)] } : []
        allowed.words.withUnsafeBufferPointer { words in
            for (index, bits) in words.enumerated() where bits != ~0 {
                let base = index << 6
                for offset in 0..<min(64, row.count - base) where bits & (1 << UInt64(offset)) == 0 {
                    row[base + offset] = -.infinity
                }
            }
        }
        for (index, end) in ends.enumerated() {
            row[Int(end)] = complete ? kept[index] : -.infinity
        }
        return true
    }

    /// Advances past a drawn token that is not an end token (which the mask allowed).
    public mutating func accept(_ token: TokenID) {
        let accepted = matcher.accept(compiled.masks.trie.bytes(of: Int(token)))
        assert(accepted, "the mask allowed token \(token), which the matcher refuses")
    }
}
