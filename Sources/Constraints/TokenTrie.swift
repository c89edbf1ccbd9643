import Synchronization

/// A vocabulary's tokens as a trie of their bytes, so that the tokens a grammar allows next
/// are found in one walk that shares every common prefix and drops a whole subtree at the
/// first byte the grammar refuses (instead of trying each token on its own).
public struct TokenTrie: Sendable {
    /// children[node]: (byte, child node), ascending by byte. Node 0 is the root.
    private var children: [[(byte: UInt8, node: Int32)]] = [[]]
    /// The tokens whose bytes end at each node.
    private var ending: [[Int32]] = [[]]
    /// Every token below each node (itself included) is subtree[node] of `preorder`.
    private var preorder: [Int32] = []
    private var subtree: [Range<Int>] = []
    /// Each token's bytes, by id.
    let tokens: [[UInt8]]
    public let vocabularySize: Int

    /// `tokens[id]` is the bytes token `id` adds to the text; empty ones (control tokens)
    /// are never allowed by a grammar.
    public init(tokens: [[UInt8]]) {
        vocabularySize = tokens.count
        self.tokens = tokens
        for (id, bytes) in tokens.enumerated() where !bytes.isEmpty {
            var node = 0
            for byte in bytes {
                if let child = children[node].first(where: { $0.byte == byte }) {
                    node = Int(child.node)
                } else {
                    children.append([])
                    ending.append([])
                    children[node].append((byte, Int32(children.count - 1)))
                    node = children.count - 1
                }
            }
            ending[node].append(Int32(id))
        }
        for node in children.indices { children[node].sort { $0.byte < $1.byte } }
        subtree = Array(repeating: 0..<0, count: children.count)
        var work: [(node: Int, entered: Bool)] = [(0, false)]
        var start = Array(repeating: 0, count: children.count)
        while let (node, entered) = work.popLast() {
            if entered {
                subtree[node] = start[node]..<preorder.count
                continue
            }
            start[node] = preorder.count
            preorder += ending[node]
            work.append((node, true))
            for child in children[node].reversed() { work.append((Int(child.node), false)) }
        }
    }

    public var nodeCount: Int { children.count }

    /// The tokens the matcher's grammar accepts next, whole: a bit per token id.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        var allowed = TokenSet(count: vocabularySize)
        walk(0, matcher, &allowed)
        return allowed
    }

    /// For a matcher standing at one grammar position with nothing below it: the tokens
    /// it accepts whatever lies below (`accepted`), and those whose fate depends on what
    /// lies below because a parse path finished the position's rules before the token's
    /// last byte (`uncertain`: checked against the real stack). The rest never fit.
    func split(at matcher: GrammarMatcher) -> (accepted: TokenSet, uncertain: [Int32]) {
        var accepted = TokenSet(count: vocabularySize)
        var uncertain: [Int32] = []
        splitWalk(0, matcher, escaped: false, &accepted, &uncertain)
        return (accepted, uncertain)
    }

    private func splitWalk(_ node: Int, _ matcher: GrammarMatcher, escaped: Bool,
                           _ accepted: inout TokenSet, _ uncertain: inout [Int32]) {
        let next = matcher.allowedBytes
        for child in children[node] {
            var advanced = matcher
            if next.contains(child.byte), advanced.accept(child.byte) {
                for id in ending[Int(child.node)] { accepted.insert(Int(id)) }
                // A path that finished here goes on in the rules below, unknown here.
                splitWalk(Int(child.node), advanced, escaped: escaped || advanced.isComplete, &accepted, &uncertain)
            } else if escaped {
                uncertain += preorder[subtree[Int(child.node)]]
            }
        }
    }

    private func walk(_ node: Int, _ matcher: GrammarMatcher, _ allowed: inout TokenSet) {
        let next = matcher.allowedBytes
        for child in children[node] where next.contains(child.byte) {
            var advanced = matcher
            guard advanced.accept(child.byte) else { continue }
            for id in ending[Int(child.node)] { allowed.insert(Int(id)) }
            walk(Int(child.node), advanced, &allowed)
        }
    }
}

/// A set of token ids, a bit each: what a constrained sampler may pick.
public struct TokenSet: Equatable, Sendable {
    public private(set) var words: [UInt64]
    public let count: Int

    public init(count: Int) {
        self.count = count
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    public mutating func insert(_ id: Int) { words[id >> 6] |= 1 << UInt64(id & 63) }
    public mutating func formUnion(_ other: TokenSet) {
        for index in words.indices { words[index] |= other.words[index] }
    }
    public func contains(_ id: Int) -> Bool { words[id >> 6] & (1 << UInt64(id & 63)) != 0 }
    public var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

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
