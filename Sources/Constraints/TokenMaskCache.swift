import Synchronization

/// Token masks for one grammar and vocabulary, shared by every sequence under the same
/// constraint; thread-safe.
///
/// Matcher states are interned as small integers the first time they are met, and each
/// state's move on a byte is found once (a `GrammarMatcher.accept`) and then read from a
/// table: the trie walk that finds a state's tokens is table lookups, node by node, instead
/// of a matcher copy per node. Inside a string every character leads back to a state met
/// before, so a string's first mask costs a few milliseconds (3.5–4.5 with the reference
/// vocabulary), and a bounded one (`maxLength`: a state per count) that per count near its
/// end, once per grammar (`canonical`). Whole-state
/// masks are kept: sequences under one schema pass through the same states.
public final class TokenMaskCache: Sendable {
    public let trie: TokenTrie
    private let table = Mutex(StateTable())

    /// States interned at most, 1 KB of transitions each (16 MB): walks meet many states
    /// (every place a token can end), and a table started again walks everything again,
    /// so the bound is generous; past it the table does start again (a bound, not an LRU).
    /// An extraction schema's 128 outputs met 8,369.
    public static let maximumStates = 16_384
    /// Masks kept at most, 6 KB each with a 49,152-token vocabulary (24 MB); past it they
    /// are dropped, the states kept.
    public static let maximumMasks = 4096

    public init(trie: TokenTrie) {
        self.trie = trie
    }

    /// The tokens allowed after `matcher` (end-of-generation is the caller's: it comes
    /// exactly where `matcher.isComplete`).
    public func allowedTokens(after matcher: GrammarMatcher) -> TokenSet {
        table.withLock { table in
            if table.matchers.count >= Self.maximumStates { table = StateTable() }
            let state = table.id(of: canonical(matcher))
            if let known = table.masks[state] { return known }
            let mask = walk(from: state, table)
            if table.masks.count >= Self.maximumMasks { table.masks.removeAll(keepingCapacity: true) }
            table.masks[state] = mask
            return mask
        }
    }

    /// `matcher` with every link of a bounded repetition that may match more elements than
    /// a token has bytes moved to the link that may match exactly that many: no token
    /// reaches the end of such a chain, so the two accept the same tokens. A string of
    /// `maxLength` 60 then costs the masks of its last `longestToken` characters, not 60.
    private func canonical(_ matcher: GrammarMatcher) -> GrammarMatcher {
        let grammar = matcher.grammar
        guard !grammar.links.isEmpty else { return matcher }
        let horizon = max(2, trie.longestToken)
        func far(_ position: GrammarMatcher.Position) -> Bool { (grammar.links[Int(position.rule)]?.remaining ?? 0) > horizon }
        guard matcher.stacks.contains(where: { $0.contains(where: far) }) else { return matcher }
        return matcher.with(stacks: Set(matcher.stacks.map { stack in
            stack.map { position in
                guard far(position), let link = grammar.links[Int(position.rule)] else { return position }
                var moved = position
                moved.rule = Int32(grammar.chains[link.chain][horizon - 1])
                return moved
            }
        }))
    }

    /// States interned so far, and those whose mask was asked for.
    public var counts: (states: Int, masks: Int) {
        table.withLock { ($0.matchers.count, $0.masks.count) }
    }

    /// The trie walked from `state`, depth first: a subtree is dropped at the first byte
    /// the grammar refuses.
    private func walk(from state: Int32, _ table: StateTable) -> TokenSet {
        var words = [UInt64](repeating: 0, count: (trie.vocabularySize + 63) / 64)
        var work: [(node: Int32, state: Int32)] = [(0, state)]
        words.withUnsafeMutableBufferPointer { words in
        trie.firstChild.withUnsafeBufferPointer { firstChild in
        trie.childBytes.withUnsafeBufferPointer { childBytes in
        trie.childNodes.withUnsafeBufferPointer { childNodes in
        trie.firstEnding.withUnsafeBufferPointer { firstEnding in
        trie.endingTokens.withUnsafeBufferPointer { endingTokens in
            while let (node, state) = work.popLast() {
                for index in Int(firstChild[Int(node)])..<Int(firstChild[Int(node) + 1]) {
                    let next = table.step(state, childBytes[index])
                    guard next >= 0 else { continue }
                    let child = Int(childNodes[index])
                    for id in endingTokens[Int(firstEnding[child])..<Int(firstEnding[child + 1])] {
                        words[Int(id) >> 6] |= 1 << UInt64(id & 63)
                    }
                    if firstChild[child] != firstChild[child + 1] { work.append((Int32(child), next)) }
                }
            }
        }}}}}}
        return TokenSet(words: words, count: trie.vocabularySize)
    }

    /// Interned states and their transitions; a class so that the walk's hot loop reads the
    /// table through one pointer, with no copy-on-write checks.
    final class StateTable {
        var matchers: [GrammarMatcher] = []
        var ids: [Set<[GrammarMatcher.Position]>: Int32] = [:]
        /// `state << 8 | byte` → the next state; `unknown` until looked at, `refused` when
        /// no parse path takes the byte. Room for `capacity` states.
        @exclusivity(unchecked) private var transitions: UnsafeMutablePointer<Int32>
        @exclusivity(unchecked) private var capacity = 16
        var masks: [Int32: TokenSet] = [:]
        static let unknown: Int32 = -2
        static let refused: Int32 = -1

        init() {
            transitions = .allocate(capacity: capacity << 8)
        }

        deinit { transitions.deallocate() }

        func id(of matcher: GrammarMatcher) -> Int32 {
            if let id = ids[matcher.stacks] { return id }
            let id = Int32(matchers.count)
            if matchers.count == capacity {
                let grown = UnsafeMutablePointer<Int32>.allocate(capacity: capacity << 9)
                grown.moveInitialize(from: transitions, count: capacity << 8)
                transitions.deallocate()
                transitions = grown
                capacity <<= 1
            }
            (transitions + (Int(id) << 8)).initialize(repeating: Self.unknown, count: 256)
            matchers.append(matcher)
            ids[matcher.stacks] = id
            return id
        }

        @inline(__always)
        func step(_ state: Int32, _ byte: UInt8) -> Int32 {
            let known = transitions[Int(state) << 8 | Int(byte)]
            return known != Self.unknown ? known : transition(state, byte)
        }

        private func transition(_ state: Int32, _ byte: UInt8) -> Int32 {
            var matcher = matchers[Int(state)]
            let next = matcher.allowedBytes.contains(byte) && matcher.accept(byte) ? id(of: matcher) : Self.refused
            transitions[Int(state) << 8 | Int(byte)] = next
            return next
        }
    }
}
