/// A regular expression in the subset constraints support, parsed: literals, escapes
/// (`\d \w \s \D \W \S`, `\.` and the other metacharacters, `\n \t \r \f \v`, `\uXXXX`),
/// classes (`[a-z_]`, `[^"]`, with those escapes inside), `.` (any character but a
/// newline), groups `( )` and `(?: )`, alternation `|`, quantifiers `* + ? {m} {m,}
/// {m,n}` (greedy or lazy alike: only the language matters), and `^`/`$` at the ends.
/// The whole text must match (a pattern is anchored at both ends: a narrower language,
/// whose strings also match the unanchored pattern). Backreferences, lookaround and
/// anything else are refused with the offset.
public indirect enum RegexPattern: Equatable, Sendable {
    /// One character from these scalar ranges.
    case characters([ClosedRange<UInt32>])
    case sequence([RegexPattern])
    case choice([RegexPattern])
    case repeated(RegexPattern, minimum: Int, maximum: Int?)

    public struct Unsupported: Error, Equatable, CustomStringConvertible {
        public var offset: Int
        public var reason: String
        public var description: String { "\(reason) at character \(offset + 1)" }
    }

    /// Bounds on `{m,n}`: a grammar grows with them.
    public static let maximumRepeat = 1000

    public init(_ text: String) throws {
        var parser = Parser(characters: Array(text.unicodeScalars))
        if parser.peek == "^" { parser.index += 1 }
        let pattern = try parser.alternation(depth: 0)
        if parser.peek == "$" { parser.index += 1 }
        guard parser.index == parser.characters.count else {
            throw Unsupported(offset: parser.index, reason: "unexpected \(parser.characters[parser.index])")
        }
        self = pattern
    }

    static let digit: [ClosedRange<UInt32>] = [0x30...0x39]
    static let word: [ClosedRange<UInt32>] = [0x30...0x39, 0x41...0x5A, 0x5F...0x5F, 0x61...0x7A]
    static let space: [ClosedRange<UInt32>] = [0x09...0x0D, 0x20...0x20]
    static let everything: [ClosedRange<UInt32>] = [0...0xD7FF, 0xE000...0x10FFFF]

    /// The scalars not in `ranges` (surrogates excluded).
    static func complement(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        var next: UInt32 = 0
        for range in normalized(ranges + [0xD800...0xDFFF]) {
            if range.lowerBound > next { result.append(next...(range.lowerBound - 1)) }
            next = max(next, range.upperBound + 1)
        }
        if next <= 0x10FFFF { result.append(next...0x10FFFF) }
        return result
    }

    /// Sorted, merged ranges.
    static func normalized(_ ranges: [ClosedRange<UInt32>]) -> [ClosedRange<UInt32>] {
        var result: [ClosedRange<UInt32>] = []
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if let last = result.last, range.lowerBound <= last.upperBound + 1 {
                result[result.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
            } else {
                result.append(range)
            }
        }
        return result
    }

    private struct Parser {
        let characters: [Unicode.Scalar]
        var index = 0

        var peek: Unicode.Scalar? { index < characters.count ? characters[index] : nil }

        func fail(_ reason: String) -> Unsupported { Unsupported(offset: index, reason: reason) }

        mutating func alternation(depth: Int) throws -> RegexPattern {
            guard depth < 64 else { throw fail("groups nested deeper than 64") }
            var branches = [try concatenation(depth: depth)]
            while peek == "|" {
                index += 1
                branches.append(try concatenation(depth: depth))
            }
            return branches.count == 1 ? branches[0] : .choice(branches)
        }

        mutating func concatenation(depth: Int) throws -> RegexPattern {
            var items: [RegexPattern] = []
            while let c = peek, c != "|", c != ")" {
                if c == "$", index == characters.count - 1 { break }
                var atom = try self.atom(depth: depth)
                atom = try quantified(atom)
                items.append(atom)
            }
            return items.count == 1 ? items[0] : .sequence(items)
        }

        mutating func quantified(_ atom: RegexPattern) throws -> RegexPattern {
            var result = atom
            while let c = peek {
                let bounds: (Int, Int?)
                switch c {
                case "*": bounds = (0, nil); index += 1
                case "+": bounds = (1, nil); index += 1
                case "?": bounds = (0, 1); index += 1
                case "{":
                    guard let parsed = try braces() else { return result }
                    bounds = parsed
                default: return result
                }
                if peek == "?" { index += 1 }  // lazy: the same language
                if peek == "+" { throw fail("possessive quantifiers are not supported") }
                result = .repeated(result, minimum: bounds.0, maximum: bounds.1)
            }
            return result
        }

        /// `{m}`, `{m,}`, `{m,n}`; nil (a literal brace) when it is not one of those.
        mutating func braces() throws -> (Int, Int?)? {
            let start = index
            index += 1
            func number() -> Int? {
                var digits = ""
                while let c = peek, ("0"..."9").contains(c) { digits.unicodeScalars.append(c); index += 1 }
                return digits.isEmpty ? nil : Int(digits.prefix(7))
            }
            guard let low = number() else { index = start; return nil }
            var high: Int? = low
            if peek == "," { index += 1; high = number() }
            guard peek == "}" else { index = start; return nil }
            index += 1
            guard low <= RegexPattern.maximumRepeat, (high ?? low) <= RegexPattern.maximumRepeat, (high ?? low) >= low else {
                index = start
                throw fail("a repeat count is above \(RegexPattern.maximumRepeat) or its bounds are reversed")
            }
            return (low, high)
        }

        mutating func atom(depth: Int) throws -> RegexPattern {
            let c = characters[index]
            switch c {
            case "(":
                index += 1
                if peek == "?" {
                    guard index + 1 < characters.count, characters[index + 1] == ":" else {
                        throw fail("lookaround and named groups are not supported")
                    }
                    index += 2
                }
                let inner = try alternation(depth: depth + 1)
                guard peek == ")" else { throw fail("a group is not closed") }
                index += 1
                return inner
            case "[": return .characters(try characterClass())
            case ".":
                index += 1
                return .characters(RegexPattern.complement([0x0A...0x0A]))
            case "\\": return .characters(try escape(inClass: false))
            case "^", "$": throw fail("anchors are supported only at the ends")
            case "*", "+", "?": throw fail("a quantifier follows nothing")
            default:
                index += 1
                return .characters([c.value...c.value])
            }
        }

        mutating func escape(inClass: Bool) throws -> [ClosedRange<UInt32>] {
            index += 1
            guard let c = peek else { throw fail("the pattern ends in a backslash") }
            index += 1
            switch c {
            case "d": return RegexPattern.digit
            case "D": return RegexPattern.complement(RegexPattern.digit)
            case "w": return RegexPattern.word
            case "W": return RegexPattern.complement(RegexPattern.word)
            case "s": return RegexPattern.space
            case "S": return RegexPattern.complement(RegexPattern.space)
            case "n": return [0x0A...0x0A]
            case "t": return [0x09...0x09]
            case "r": return [0x0D...0x0D]
            case "f": return [0x0C...0x0C]
            case "v": return [0x0B...0x0B]
            case "u":
                let hex = characters[index..<min(index + 4, characters.count)]
                guard hex.count == 4, hex.allSatisfy({ $0.properties.isASCIIHexDigit }),
                      let value = UInt32(String(String.UnicodeScalarView(hex)), radix: 16),
                      !(0xD800...0xDFFF).contains(value) else { throw fail("\\u takes four hex digits of a scalar") }
                index += 4
                return [value...value]
            case "b" where inClass: return [0x08...0x08]
            default:
                // As Python's `re`: an ASCII letter or digit after `\` is an escape (refused
                // unless listed above); any other character stands for itself.
                guard !(c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c))) else {
                    index -= 2
                    throw fail("the escape \\\(c) is not supported")
                }
                return [c.value...c.value]
            }
        }

        mutating func characterClass() throws -> [ClosedRange<UInt32>] {
            index += 1  // [
            var negated = false
            if peek == "^" { negated = true; index += 1 }
            var ranges: [ClosedRange<UInt32>] = []
            var first = true
            while let c = peek, c != "]" || first {
                first = false
                var low: [ClosedRange<UInt32>]
                if c == "\\" { low = try escape(inClass: true) } else { index += 1; low = [c.value...c.value] }
                if peek == "-", index + 1 < characters.count, characters[index + 1] != "]", low.count == 1,
                   low[0].lowerBound == low[0].upperBound {
                    index += 1
                    let highScalar: UInt32
                    if peek == "\\" {
                        let escaped = try escape(inClass: true)
                        guard escaped.count == 1, escaped[0].lowerBound == escaped[0].upperBound else {
                            throw fail("a range ends in a class")
                        }
                        highScalar = escaped[0].lowerBound
                    } else {
                        highScalar = characters[index].value
                        index += 1
                    }
                    guard highScalar >= low[0].lowerBound else { throw fail("a range's bounds are reversed") }
                    low = [low[0].lowerBound...highScalar]
                }
                ranges += low
            }
            guard peek == "]" else { throw fail("a class is not closed") }
            index += 1
            let merged = RegexPattern.normalized(ranges)
            return negated ? RegexPattern.complement(merged) : RegexPattern.complement(RegexPattern.complement(merged))
        }
    }
}
