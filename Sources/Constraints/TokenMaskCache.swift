import Synchronization

/// Token masks for one grammar and vocabulary, shared by every sequence under the same
/// constraint; thread-safe. A state's mask is the union over its parse stacks; each
/// stack's is the tokens its top frames accept whatever lies below (walked once per
/// distinct top frames, xgrammar's context-independent tokens), plus those of the top's
/// uncertain tokens the whole stack accepts (few: the tokens that close the value and go
/// on). Whole states are cached too: a string's characters revisit one state.
public final class TokenMaskCache: Sendable {
    public let trie: TokenTrie
    private let byPosition = Mutex<[[GrammarMatcher.Position]: PositionMask]>([:])
    /// How many top frames of a stack its precomputed tokens look at: enough to hold a
    /// string or number rule above its characters (`"` chars `"` → chars → char), so a
    /// token escapes them only where the value itself ends.
    static let frames = 3
    private let byState = Mutex<[Set<[GrammarMatcher.Position]>: TokenSet]>([:])

    struct PositionMask: Sendable {
        var accepted: TokenSet
        var uncertain: [Int32]
    }

    /// Whole-state masks kept at most (6 KB each with a 49,152-token vocabulary).
    static let maximumStates = 4096

    public init(trie: TokenTrie) {
        self.trie = trie
    }

    /// The tokens allowed after `matcher`.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        if let known = byState.withLock({ $0[matcher.stacks] }) { return known }
        var mask = TokenSet(count: trie.vocabularySize)
        for stack in matcher.stacks {
            guard !stack.isEmpty else { continue }  // complete: EOS, not a token
            let position = positionMask(Array(stack.suffix(Self.frames)), grammar: matcher.grammar)
            mask.formUnion(position.accepted)
            guard !position.uncertain.isEmpty, let here = try? GrammarMatcher(matcher.grammar, stack: stack) else { continue }
            for id in position.uncertain where !mask.contains(Int(id)) {
                var trial = here
                if trial.accept(trie.tokens[Int(id)]) { mask.insert(Int(id)) }
            }
        }
        byState.withLock { states in
            if states.count >= Self.maximumStates { states.removeAll(keepingCapacity: true) }  // a bound, not an LRU
            states[matcher.stacks] = mask
        }
        return mask
    }

    /// Distinct states and positions walked so far.
    public var counts: (states: Int, positions: Int) {
        (byState.withLock { $0.count }, byPosition.withLock { $0.count })
    }

    private func positionMask(_ top: [GrammarMatcher.Position], grammar: Grammar) -> PositionMask {
        if let known = byPosition.withLock({ $0[top] }) { return known }
        // The top frames alone: a path that pops them has reached the unknown below.
        guard let alone = try? GrammarMatcher(grammar, stack: top) else {
            return PositionMask(accepted: TokenSet(count: trie.vocabularySize), uncertain: [])
        }
        let (accepted, uncertain) = trie.split(at: alone)
        let mask = PositionMask(accepted: accepted, uncertain: uncertain)
        byPosition.withLock { $0[top] = mask }
        return mask
    }
}
