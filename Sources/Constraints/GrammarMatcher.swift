/// Where a constrained output stands in its grammar, byte by byte: the set of parse stacks
/// still alive (a pushdown automaton run on every path at once, as llama.cpp's grammar
/// sampler and xgrammar do). `accept` advances by one byte or refuses it and changes
/// nothing; `isComplete` says the output so far is a whole match (where EOS may come);
/// `allowedBytes` is what may come next. Copy it to try a token without committing.
public struct GrammarMatcher: Sendable {
    /// A place in a rule: the `index`-th element of one alternative, next to be matched.
    public struct Position: Hashable, Sendable {
        public var rule: Int32
        public var alternative: Int32
        public var index: Int32
    }

    public struct TooDeep: Error, CustomStringConvertible {
        public var description: String { "the grammar nests deeper than \(GrammarMatcher.maximumDepth) rules" }
    }

    /// Bounds the stacks: a grammar whose expansion goes deeper (left recursion, or
    /// nesting a schema allows without end) is refused rather than looped on.
    public static let maximumDepth = 2048

    let grammar: Grammar
    /// Each stack's last position is the next element to match, always a byte set; an
    /// empty stack means the root rule is complete.
    private(set) var stacks: Set<[Position]>

    public init(_ grammar: Grammar) throws {
        self.grammar = grammar
        var start = Set<[Position]>()
        for alternative in grammar.rules[grammar.root].indices {
            try Self.expand([Position(rule: Int32(grammar.root), alternative: Int32(alternative), index: 0)],
                            grammar: grammar, into: &start)
        }
        stacks = start
    }

    /// The same grammar at other stacks (`TokenMaskCache`'s canonical states).
    func with(stacks: Set<[Position]>) -> GrammarMatcher {
        var other = self
        other.stacks = stacks
        return other
    }

    /// The output so far matches the grammar as a whole.
    public var isComplete: Bool { stacks.contains([]) }

    /// The bytes that may come next.
    public var allowedBytes: ByteSet {
        var allowed = ByteSet()
        for stack in stacks {
            if let top = stack.last, case .bytes(let set) = element(at: top) { allowed = allowed.union(set) }
        }
        return allowed
    }

    /// Advances by `byte`; false (and unchanged) when no stack allows it.
    @discardableResult
    public mutating func accept(_ byte: UInt8) -> Bool {
        var next = Set<[Position]>()
        for stack in stacks {
            guard let top = stack.last, case .bytes(let set) = element(at: top), set.contains(byte) else { continue }
            var advanced = stack
            advanced[advanced.count - 1].index += 1
            // A path that would nest deeper than `maximumDepth` is dropped: the output
            // cannot nest deeper than that.
            try? Self.expand(advanced, grammar: grammar, into: &next)
        }
        guard !next.isEmpty else { return false }
        stacks = next
        return true
    }

    /// Advances by every byte of `bytes`; false (and unchanged) when one is refused.
    @discardableResult
    public mutating func accept(_ bytes: some Sequence<UInt8>) -> Bool {
        var trial = self
        for byte in bytes where !trial.accept(byte) { return false }
        self = trial
        return true
    }

    private func element(at position: Position) -> Grammar.Element {
        grammar.rules[Int(position.rule)][Int(position.alternative)][Int(position.index)]
    }

    /// Expands `stack` until its top is a byte set (or it is empty), on every alternative.
    /// Finished frames are popped before a rule is pushed, so right recursion stays flat.
    private static func expand(_ stack: [Position], grammar: Grammar, into result: inout Set<[Position]>) throws {
        var returns = Returns()
        try expand(stack, grammar: grammar, into: &result, returns: &returns, popped: false)
    }

    /// The stacks one expansion came back to after popping a frame. A repetition of
    /// something that can match nothing (`(a*)*`) returns to the same stack without
    /// matching a byte, at the same depth (tail calls are popped); expanding it again would
    /// add nothing, and would never end. Only a path that popped can return to where it was
    /// (one that only pushes grows, and meets `maximumDepth`), and an expansion that ends
    /// does so within a few returns, so stacks are recorded only from the 17th return on:
    /// the common path hashes nothing, and a loop is cut on its second round after that.
    private struct Returns {
        var count = 0
        var visited = Set<[Position]>()

        /// False when `stack` was already expanded here: go no further.
        mutating func firstVisit(_ stack: [Position]) -> Bool {
            count += 1
            return count <= 16 || visited.insert(stack).inserted
        }
    }

    private static func expand(_ stack: [Position], grammar: Grammar, into result: inout Set<[Position]>,
                               returns: inout Returns, popped: Bool) throws {
        var stack = stack
        var popped = popped
        while let top = stack.last,
              Int(top.index) == grammar.rules[Int(top.rule)][Int(top.alternative)].count {
            stack.removeLast()
            popped = true
        }
        if popped, !returns.firstVisit(stack) { return }
        guard let top = stack.last else {
            result.insert([])
            return
        }
        guard stack.count <= maximumDepth else { throw TooDeep() }
        switch grammar.rules[Int(top.rule)][Int(top.alternative)][Int(top.index)] {
        case .bytes:
            result.insert(stack)
        case .rule(let rule):
            var parent = stack
            parent[parent.count - 1].index += 1
            // A call in tail position returns to nothing here: pop before pushing.
            var tailPopped = popped
            while let frame = parent.last,
                  Int(frame.index) == grammar.rules[Int(frame.rule)][Int(frame.alternative)].count {
                parent.removeLast()
                tailPopped = true
            }
            for alternative in grammar.rules[rule].indices {
                try expand(parent + [Position(rule: Int32(rule), alternative: Int32(alternative), index: 0)],
                           grammar: grammar, into: &result, returns: &returns, popped: tailPopped)
            }
        }
    }
}
