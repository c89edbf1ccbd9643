/// A vocabulary's tokens as a trie of their bytes, so that the tokens a grammar allows next
/// are found in one walk that shares every common prefix and drops a whole subtree at the
/// first byte the grammar refuses (instead of trying each token on its own).
public struct TokenTrie: Sendable {
    /// Node `n`'s children are `childBytes[i]` → `childNodes[i]` for `i` in
    /// `firstChild[n]..<firstChild[n + 1]`, ascending by byte; node 0 is the root. Flat
    /// arrays: a mask walk visits up to every node and must not touch an array per node.
    private(set) var firstChild: [Int32] = []
    private(set) var childBytes: [UInt8] = []
    private(set) var childNodes: [Int32] = []
    /// The tokens whose bytes end at node `n`: `endingTokens[firstEnding[n]..<firstEnding[n + 1]]`.
    private(set) var firstEnding: [Int32] = []
    private(set) var endingTokens: [Int32] = []
    /// Each token's bytes, by id.
    let tokens: [[UInt8]]
    public let vocabularySize: Int
    /// The most bytes a token has.
    public let longestToken: Int

    /// `tokens[id]` is the bytes token `id` adds to the text; empty ones (control tokens)
    /// are never allowed by a grammar.
    public init(tokens: [[UInt8]]) {
        vocabularySize = tokens.count
        self.tokens = tokens
        longestToken = tokens.map(\.count).max() ?? 0
        var children: [[(byte: UInt8, node: Int32)]] = [[]]
        var ending: [[Int32]] = [[]]
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
        for node in children.indices {
            firstChild.append(Int32(childBytes.count))
            for child in children[node].sorted(by: { $0.byte < $1.byte }) {
                childBytes.append(child.byte)
                childNodes.append(child.node)
            }
            firstEnding.append(Int32(endingTokens.count))
            endingTokens += ending[node]
        }
        firstChild.append(Int32(childBytes.count))
        firstEnding.append(Int32(endingTokens.count))
    }

    public var nodeCount: Int { firstChild.count - 1 }

    /// The bytes token `id` adds to the text (none for control tokens).
    public func bytes(of id: Int) -> [UInt8] { tokens[id] }

    /// The tokens the matcher's grammar accepts next, whole: a bit per token id.
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        var allowed = TokenSet(count: vocabularySize)
        walk(0, matcher, &allowed)
        return allowed
    }

    private func walk(_ node: Int, _ matcher: GrammarMatcher, _ allowed: inout TokenSet) {
        let next = matcher.allowedBytes
        for index in Int(firstChild[node])..<Int(firstChild[node + 1]) where next.contains(childBytes[index]) {
            var advanced = matcher
            guard advanced.accept(childBytes[index]) else { continue }
            let child = Int(childNodes[index])
            for id in endingTokens[Int(firstEnding[child])..<Int(firstEnding[child + 1])] { allowed.insert(Int(id)) }
            walk(child, advanced, &allowed)
        }
    }
}
