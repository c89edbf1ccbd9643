/// llama.cpp's GBNF grammars, for vLLM's `grammar` constraint: `name ::= body` rules (the
/// root is `root`), bodies of string literals (`"yes"`, with `\n \t \r \" \\ \xHH
/// \uXXXX`), classes (`[a-z]`, `[^"\n]`), `.`, rule names, groups, `|`, and the
/// quantifiers `* + ? {m} {m,} {m,n}`; `#` starts a comment. Newlines end a rule except
/// inside parentheses or after `|`. Left recursion (which a top-down matcher cannot run)
/// and references to rules never defined are refused, naming the rule.
public enum GBNFGrammar {
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    public static func compile(_ text: String) throws -> Grammar {
        var parser = Parser(characters: Array(text.unicodeScalars))
        try parser.rules()
        guard let root = parser.indices["root"] else { throw Invalid(line: 1, reason: "there is no rule named root") }
        if let name = parser.indices.keys.sorted().first(where: { !parser.defined.contains($0) }) {
            throw Invalid(line: parser.firstUse[name] ?? 1, reason: "rule \(name) is used but never defined")
        }
        parser.grammar.root = root
        if let cycle = leftRecursion(in: parser.grammar) {
            throw Invalid(line: 1, reason: "rule \(parser.grammar.names[cycle]) is left-recursive; write the repetition with * or +")
        }
        return parser.grammar
    }

    /// A rule that can reach itself before matching a byte, if any.
    static func leftRecursion(in grammar: Grammar) -> Int? {
        var nullable = Array(repeating: false, count: grammar.rules.count)
        var changed = true
        while changed {
            changed = false
            for (rule, alternatives) in grammar.rules.enumerated() where !nullable[rule] {
                if alternatives.contains(where: { $0.allSatisfy { if case .rule(let r) = $0 { nullable[r] } else { false } } }) {
                    nullable[rule] = true
                    changed = true
                }
            }
        }
        // first[r]: the rules r can call before matching a byte.
        let first: [[Int]] = grammar.rules.map { alternatives in
            var calls: [Int] = []
            for sequence in alternatives {
                for element in sequence {
                    guard case .rule(let r) = element else { break }
                    calls.append(r)
                    if !nullable[r] { break }
                }
            }
            return calls
        }
        for start in grammar.rules.indices {
            var seen = Set<Int>(), work = first[start]
            while let next = work.popLast() {
                if next == start { return start }
                if seen.insert(next).inserted { work += first[next] }
            }
        }
        return nil
    }

    private struct Parser {
        let characters: [Unicode.Scalar]
        var index = 0
        var line = 1
        var grammar = Grammar()
        var indices: [String: Int] = [:]
        var defined: Set<String> = []
        var firstUse: [String: Int] = [:]

        var peek: Unicode.Scalar? { index < characters.count ? characters[index] : nil }

        func fail(_ reason: String) -> Invalid { Invalid(line: line, reason: reason) }

        mutating func rule(named name: String) -> Int {
            if let known = indices[name] { return known }
            let index = grammar.declare(name)
            indices[name] = index
            firstUse[name] = line
            return index
        }

        /// Skips spaces, tabs and comments; newlines too when `newlines`.
        mutating func skip(newlines: Bool) {
            while let c = peek {
                if c == "#" {
                    while peek.map({ $0 != "\n" }) ?? false { index += 1 }
                } else if c == " " || c == "\t" || c == "\r" || (newlines && c == "\n") {
                    if c == "\n" { line += 1 }
                    index += 1
                } else {
                    return
                }
            }
        }

        mutating func name() -> String? {
            var text = ""
            while let c = peek, c.properties.isAlphabetic || ("0"..."9").contains(c) || c == "-" || c == "_" {
                text.unicodeScalars.append(c)
                index += 1
            }
            return text.isEmpty ? nil : text
        }

        mutating func rules() throws {
            while true {
                skip(newlines: true)
                guard peek != nil else { return }
                guard let name = name() else { throw fail("expected a rule name") }
                skip(newlines: false)
                guard index + 2 < characters.count, String(String.UnicodeScalarView(characters[index..<index + 3])) == "::=" else {
                    throw fail("expected ::= after \(name)")
                }
                index += 3
                guard defined.insert(name).inserted else { throw fail("rule \(name) is defined twice") }
                let target = rule(named: name)
                grammar.define(target, try alternatives(nested: false, depth: 0))
            }
        }

        mutating func alternatives(nested: Bool, depth: Int) throws -> [[Grammar.Element]] {
            guard depth < 64 else { throw fail("groups nested deeper than 64") }
            var result = [try sequence(nested: nested, depth: depth)]
            while peek == "|" {
                index += 1
                skip(newlines: true)
                result.append(try sequence(nested: nested, depth: depth))
            }
            return result
        }

        mutating func sequence(nested: Bool, depth: Int) throws -> [Grammar.Element] {
            var elements: [Grammar.Element] = []
            while true {
                skip(newlines: nested)
                guard let c = peek, c != "|", c != ")", c != "\n" else { return elements }
                var atom: [Grammar.Element]
                switch c {
                case "\"": atom = try literal()
                case "[":
                    let ranges = try characterClass()
                    atom = grammar.elements(for: .characters(ranges), inJSONString: false)
                case ".":
                    index += 1
                    atom = grammar.elements(for: .characters(RegexPattern.complement([0x0A...0x0A])), inJSONString: false)
                case "(":
                    index += 1
                    let inner = try alternatives(nested: true, depth: depth + 1)
                    skip(newlines: true)
                    guard peek == ")" else { throw fail("a group is not closed") }
                    index += 1
                    atom = [grammar.rule("group", inner)]
                default:
                    guard let name = name() else { throw fail("unexpected \(c)") }
                    atom = [.rule(rule(named: name))]
                }
                elements += try quantified(atom)
            }
        }

        mutating func quantified(_ atom: [Grammar.Element]) throws -> [Grammar.Element] {
            let bounds: (Int, Int?)
            switch peek {
            case "*": bounds = (0, nil); index += 1
            case "+": bounds = (1, nil); index += 1
            case "?": bounds = (0, 1); index += 1
            case "{":
                index += 1
                func number() -> Int? {
                    var digits = ""
                    while let c = peek, ("0"..."9").contains(c) { digits.unicodeScalars.append(c); index += 1 }
                    return digits.isEmpty ? nil : Int(digits.prefix(7))
                }
                guard let low = number() else { throw fail("expected a count in { }") }
                var high: Int? = low
                if peek == "," { index += 1; high = number() }
                guard peek == "}" else { throw fail("expected } after a count") }
                index += 1
                guard low <= RegexPattern.maximumRepeat, (high ?? low) <= RegexPattern.maximumRepeat, (high ?? low) >= low else {
                    throw fail("a repeat count is above \(RegexPattern.maximumRepeat) or its bounds are reversed")
                }
                bounds = (low, high)
            default: return atom
            }
            let one = atom.count == 1 ? atom[0] : grammar.rule("item", [atom])
            return grammar.repeated("repeat", one, minimum: bounds.0, maximum: bounds.1)
        }

        mutating func escaped() throws -> UInt32 {
            index += 1  // backslash
            guard let c = peek else { throw fail("the grammar ends in a backslash") }
            index += 1
            func hex(_ count: Int) throws -> UInt32 {
                guard index + count <= characters.count,
                      let value = UInt32(String(String.UnicodeScalarView(characters[index..<index + count])), radix: 16),
                      Unicode.Scalar(value) != nil else { throw fail("\\\(c) takes \(count) hex digits of a scalar") }
                index += count
                return value
            }
            switch c {
            case "n": return 0x0A
            case "t": return 0x09
            case "r": return 0x0D
            case "x": return try hex(2)
            case "u": return try hex(4)
            case "U": return try hex(8)
            case "\\", "\"", "[", "]", "-", "^": return c.value
            default: throw fail("the escape \\\(c) is not supported")
            }
        }

        mutating func literal() throws -> [Grammar.Element] {
            index += 1  // "
            var elements: [Grammar.Element] = []
            while let c = peek, c != "\"" {
                let scalar = c == "\\" ? try escaped() : { index += 1; return c.value }()
                elements += grammar.elements(for: .characters([scalar...scalar]), inJSONString: false)
            }
            guard peek == "\"" else { throw fail("a string is not closed") }
            index += 1
            return elements
        }

        mutating func characterClass() throws -> [ClosedRange<UInt32>] {
            index += 1  // [
            var negated = false
            if peek == "^" { negated = true; index += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            while let c = peek, c != "]" {
                let low = c == "\\" ? try escaped() : { index += 1; return c.value }()
                var high = low
                if peek == "-", index + 1 < characters.count, characters[index + 1] != "]" {
                    index += 1
                    high = characters[index] == "\\" ? try escaped() : { index += 1; return characters[index - 1].value }()
                    guard high >= low else { throw fail("a range's bounds are reversed") }
                }
                ranges.append(low...high)
            }
            guard peek == "]" else { throw fail("a class is not closed") }
            index += 1
            let merged = RegexPattern.normalized(ranges)
            return negated ? RegexPattern.complement(merged) : RegexPattern.complement(RegexPattern.complement(merged))
        }
    }
}
