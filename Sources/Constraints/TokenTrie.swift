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
