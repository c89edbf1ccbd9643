/// A context-free grammar over bytes: what a constrained output may be. Rules are
/// alternatives of sequences of elements; an element matches one byte from a set, or a
/// whole rule. Text constraints (JSON, JSON Schema, regex, choice, GBNF) compile to this;
/// characters beyond ASCII become their UTF-8 byte sequences (`UTF8Ranges`), so the
/// matcher never sees a partial character as a special case (a token may end mid-way).
///
/// Repetition is right recursion (`r := x r | ε`), never left recursion: the matcher
/// expands rules depth first and pops finished frames before pushing, so repeating a rule
/// does not deepen its stacks.
public struct Grammar: Sendable {
    public enum Element: Hashable, Sendable {
        case bytes(ByteSet)
        case rule(Int)
    }

    /// rules[r][alternative] is a sequence of elements; an empty sequence matches nothing.
    public private(set) var rules: [[[Element]]] = []
    public private(set) var names: [String] = []
    /// The rule the whole output must match.
    public var root = 0
    /// The links of each bounded repetition's chain (`repeated` with a maximum): link
    /// `chains[c][r - 1]` matches at most `r` more elements. Links far from the end accept
    /// the same tokens (`TokenMaskCache` shares their masks).
    public private(set) var chains: [[Int]] = []
    /// For a chain's link: its chain and how many more elements it may match.
    public private(set) var links: [Int: (chain: Int, remaining: Int)] = [:]

    public init() {}

    /// A new rule with no alternatives yet (so rules can refer to each other); fill it with
    /// `define`.
    public mutating func declare(_ name: String) -> Int {
        rules.append([])
        names.append(name)
        return rules.count - 1
    }

    public mutating func define(_ rule: Int, _ alternatives: [[Element]]) {
        rules[rule] = alternatives
    }

    /// A new rule with these alternatives.
    public mutating func rule(_ name: String, _ alternatives: [[Element]]) -> Element {
        let index = declare(name)
        define(index, alternatives)
        return .rule(index)
    }

    // MARK: - Building blocks

    /// The bytes of `text`, in order.
    public static func literal(_ text: String) -> [Element] {
        text.utf8.map { .bytes(ByteSet([$0])) }
    }

    /// `element` any number of times (`element*`).
    public mutating func star(_ name: String, _ element: Element) -> Element {
        let index = declare(name)
        define(index, [[element, .rule(index)], []])
        return .rule(index)
    }

    /// `element` at least `minimum` and at most `maximum` times: `minimum` copies, then a
    /// chain of optional ones (`x (x (x)?)?)?`), so a bound costs rules linear in it.
    public mutating func repeated(_ name: String, _ element: Element, minimum: Int, maximum: Int?) -> [Element] {
        precondition(minimum >= 0 && (maximum ?? minimum) >= minimum)
        var sequence = Array(repeating: element, count: minimum)
        guard let maximum else { return sequence + [star(name, element)] }
        var tail: Element? = nil
        var chain: [Int] = []
        for remaining in 0..<(maximum - minimum) {
            let index = declare(name)
            define(index, [[element] + (tail.map { [$0] } ?? []), []])
            tail = .rule(index)
            chain.append(index)
            links[index] = (chains.count, remaining + 1)
        }
        if !chain.isEmpty { chains.append(chain) }
        if let tail { sequence.append(tail) }
        return sequence
    }
}
