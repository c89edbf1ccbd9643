import Synchronization

/// A vocabulary's tokens as a trie of their bytes, so that the tokens a grammar allows next
/// are found in one walk that shares every common prefix and drops a whole subtree at the
/// first byte the grammar refuses (instead of trying each token on its own).
public struct TokenTrie: Sendable {
    /// children[node]: (byte, child node), ascending by byte. Node 0 is the root.
    private var children: [[(byte: UInt8, node: Int32)]] = [[]]
    /// The tokens whose bytes end at each node.
    private var ending: [[Int32]] = [[]]
    public let vocabularySize: Int

    /// `tokens[id]` is the bytes token `id` adds to the text; empty ones (control tokens)
    /// are never allowed by a grammar.
    public init(tokens: [[UInt8]]) {
        vocabularySize = tokens.count
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
    }

    public var nodeCount: Int { children.count }

    /// The tokens the matcher's grammar accepts next, whole: a bit per token id.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        var allowed = TokenSet(count: vocabularySize)
        walk(0, matcher, &allowed)
        return allowed
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
    public func contains(_ id: Int) -> Bool { words[id >> 6] & (1 << UInt64(id & 63)) != 0 }
    public var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
}

/// Token masks by matcher state, for one grammar and vocabulary: the same stacks allow the
/// same tokens, and a constrained output revisits states all the time (every character
/// of a string leaves the matcher where it was). Shared by every sequence under the same
/// constraint; thread-safe.
public final class TokenMaskCache: Sendable {
    public let trie: TokenTrie
    private let masks = Mutex<[Set<[GrammarMatcher.Position]>: TokenSet]>([:])

    public init(trie: TokenTrie) {
        self.trie = trie
    }

    /// The tokens allowed after `matcher`, walked once per distinct state.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        if let known = masks.withLock({ $0[matcher.stacks] }) { return known }
        let mask = trie.allowedTokens(after: matcher)
        masks.withLock { $0[matcher.stacks] = mask }
        return mask
    }

    public var count: Int { masks.withLock { $0.count } }
}
