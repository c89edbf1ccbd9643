import Foundation
import Inference
import ScribeCore
import Testing
@testable import Constraints

/// The byte-level grammar matcher on JSON: what it accepts and refuses, where it is
/// complete, and agreement with a JSON parser on many generated and mutated texts.
@Suite struct GrammarMatcherTests {
    static func matches(_ grammar: Grammar, _ text: String) throws -> Bool {
        try matches(grammar, Array(text.utf8))
    }

    static func matches(_ grammar: Grammar, _ bytes: [UInt8]) throws -> Bool {
        var matcher = try GrammarMatcher(grammar)
        return matcher.accept(bytes) && matcher.isComplete
    }

    @Test func jsonObjectsAreAcceptedAndEverythingElseRefused() throws {
        let grammar = JSONGrammar.object()
        for valid in [#"{}"#, #"{"a":1}"#, #"{ "a" : [1, 2.5, -3e+7, 0.0, true, false, null], "b": {"c": "d"} }"#,
                      #"{"é":"日本語 🎉","esc":"\"\\\/\b\f\n\r\t\u00e9"}"#, "{\n  \"a\": 1\n}", #"{"n":-0.5E-3}"#] {
            #expect(try Self.matches(grammar, valid), "\(valid)")
        }
        for invalid in [#"[]"#, #""a""#, #"{"a":1,}"#, #"{'a':1}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":.5}"#,
                        #"{"a":+1}"#, #"{"a":tru}"#, #"{"a" 1}"#, "{\"a\":\"\u{1}\"}", #"{"a":"\x"}"#, #"{"a":"\u12"}"#,
                        #" {}"#, #"{} "#, #"{"a":1}}"#, #"{a:1}"#] {
            #expect(try !Self.matches(grammar, invalid), "\(invalid)")
        }
        // Bytes that are not UTF-8: overlong, surrogate, beyond U+10FFFF, a lone continuation.
        for bytes: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80], [0xE6, 0x97]] {
            #expect(try !Self.matches(grammar, Array(#"{"a":""#.utf8) + bytes + Array(#""}"#.utf8)), "\(bytes)")
        }
    }

    @Test func completenessAndTheNextBytesFollowTheText() throws {
        var matcher = try GrammarMatcher(JSONGrammar.object())
        #expect(matcher.allowedBytes == ByteSet(ascii: "{"))
        let step1 = matcher.accept(Array(#"{"a":1"#.utf8))
        #expect(step1)
        #expect(!matcher.isComplete)
        #expect(matcher.allowedBytes == ByteSet(ascii: "0123456789.eE,} \t\n\r"))
        let step2 = matcher.accept(UInt8(ascii: "x"))
        #expect(!step2)  // refused, and nothing changed
        let step3 = matcher.accept(UInt8(ascii: "}"))
        #expect(step3)
        #expect(matcher.isComplete && matcher.allowedBytes.isEmpty)
        let step4 = matcher.accept(UInt8(ascii: " "))
        #expect(!step4)
    }

    /// At most `maximumWhitespace` characters between two tokens.
    @Test func whitespaceBetweenTokensIsBounded() throws {
        let grammar = JSONGrammar.object(maximumWhitespace: 4)
        #expect(try Self.matches(grammar, "{    \"a\":1}"))
        #expect(try !Self.matches(grammar, "{     \"a\":1}"))
        #expect(try Self.matches(grammar, "{\"a\"    :    1    }"))
        #expect(try !Self.matches(grammar, "{\"a\":1     }"))
    }

    /// Long values keep the stacks flat: right recursion pops before it pushes.
    @Test func longStringsAndDeepNestingStayBounded() throws {
        let long = "{\"a\":\"" + String(repeating: "x", count: 20_000) + "\"}"
        #expect(try Self.matches(JSONGrammar.object(), long))
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(try Self.matches(JSONGrammar.object(), "{\"a\":" + deep + "}"))
        // Past the matcher's depth bound the output cannot nest deeper.
        let tooDeep = "{\"a\":" + String(repeating: "[", count: GrammarMatcher.maximumDepth)
        var matcher = try GrammarMatcher(JSONGrammar.object())
        let step5 = matcher.accept(Array(tooDeep.utf8))
        #expect(!step5)
    }

    /// A repetition of what can match nothing (`(a*)*`) returns to the same stack without
    /// matching a byte: the expansion stops there instead of going round for ever.
    @Test func repeatingWhatCanBeEmptyEnds() throws {
        for pattern in ["(a*)*b", "(a?|b*)+c", "((a*)*)*"] {
            var grammar = Grammar()
            let elements = grammar.elements(for: try RegexPattern(pattern), inJSONString: false)
            grammar.root = grammar.declare("root")
            grammar.define(grammar.root, [elements])
            let text = pattern.hasSuffix("b") ? "aab" : pattern.hasSuffix("c") ? "abbac" : "aaa"
            #expect(try Self.matches(grammar, text), "\(pattern) on \(text)")
            #expect(try !Self.matches(grammar, text + "x"), "\(pattern)")
        }
    }

    /// The matcher and the JSON parser agree on every text: generated values written as
    /// JSON, and the same texts with one byte changed, dropped or doubled.
    @Test func theMatcherAgreesWithTheJSONParser() throws {
        var random = SplitMix64(seed: 42)
        let grammar = JSONGrammar.object()
        var checked = 0, accepted = 0
        for _ in 0..<300 {
            let text = Array(JSONValue.object(Self.randomMembers(&random, depth: 0)).jsonText.utf8)
            #expect(try Self.matches(grammar, text), "\(String(decoding: text, as: UTF8.self))")
            for _ in 0..<10 {
                var mutated = text
                let at = Int(random.next() % UInt64(mutated.count))
                switch random.next() % 3 {
                case 0: mutated[at] = Array(#"{}[]",:0123456789.-+eEtrufalsn "\ ab"#.utf8)[Int(random.next() % 33)]
                case 1: mutated.remove(at: at)
                default: mutated.insert(mutated[at], at: at)
                }
                // Escapes of surrogates are syntax the grammar allows and a parser may refuse.
                // and exponents whose number overflows a Double, which the parser refuses.
                let mutatedText = String(decoding: mutated, as: UTF8.self)
                if mutatedText.contains("\\u") || mutatedText.contains(/[eE][+-]?[0-9]{3,}/) { continue }
                let parses: Bool
                do {
                    parses = try { if case .object = try JSONValue.parse(utf8: mutated) { true } else { false } }()
                } catch { parses = false }
                let matches = try Self.matches(grammar, mutated)
                #expect(matches == parses, "\(String(decoding: mutated, as: UTF8.self))")
                checked += 1
                if matches { accepted += 1 }
            }
        }
        #expect(checked > 2000 && accepted > 100 && accepted < checked - 100)
    }

    static func randomMembers(_ random: inout SplitMix64, depth: Int) -> [String: JSONValue] {
        var members: [String: JSONValue] = [:]
        for index in 0..<Int(random.next() % 4) {
            members["k\(index)\(["", "é", "\"", "\\", "日"][Int(random.next() % 5)])"] = randomValue(&random, depth: depth + 1)
        }
        return members
    }

    static func randomValue(_ random: inout SplitMix64, depth: Int) -> JSONValue {
        switch random.next() % (depth > 3 ? 5 : 7) {
        case 0: return .null
        case 1: return .bool(random.next() % 2 == 0)
        case 2: return .integer(Int64(bitPattern: random.next()) >> Int64(random.next() % 63))
        case 3: return .number(Double(Int64(random.next() % 2_000_001) - 1_000_000) / 1024)
        case 4: return .string(["", "plain", "tab\there", "quote\"", "日本 🎉", "back\\slash", "nl\n"][Int(random.next() % 7)])
        case 5: return .array((0..<Int(random.next() % 4)).map { _ in randomValue(&random, depth: depth + 1) })
        default: return .object(randomMembers(&random, depth: depth))
        }
    }
}

@Suite struct UTF8RangesTests {
    /// Every scalar of a range, and none outside it, matches one of its sequences.
    @Test func rangesMatchExactlyTheirScalars() {
        func matches(_ sequences: [[ByteSet]], _ scalar: UInt32) -> Bool {
            let bytes = Array(String(Character(Unicode.Scalar(scalar)!)).utf8)
            return sequences.contains { $0.count == bytes.count && zip($0, bytes).allSatisfy { $0.contains($1) } }
        }
        for range: ClosedRange<UInt32> in [0x41...0x5A, 0x80...0x7FF, 0x7F0...0x812, 0xE9...0x3A9, 0xFFF0...0x10010, 0x0...0x10FFFF] {
            let sequences = UTF8Ranges.sequences(range)
            for scalar in stride(from: UInt32(0), through: 0x10FFFF, by: 97).map({ $0 }) + [range.lowerBound, range.upperBound]
            where !(0xD800...0xDFFF).contains(scalar) {
                #expect(matches(sequences, scalar) == range.contains(scalar), "\(range) U+\(String(scalar, radix: 16))")
            }
        }
    }
}
