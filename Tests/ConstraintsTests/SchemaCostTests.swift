import Foundation
import Inference
import ScribeCore
import Testing
import TestSupport
@testable import Constraints

/// What a large schema costs: the time to compile 50 properties, and the states and masks
/// its outputs pass through with the reference vocabulary (printed for the README), with
/// every mask checked against the plain trie walk on a sample.
@Suite struct SchemaCostTests {
    /// 50 required properties of every kind a schema holds: bounded strings, integer
    /// ranges, enums, booleans, numbers, arrays, formats, nested objects.
    static var fiftyProperties: String {
        let kinds = [
            #"{"type": "string", "maxLength": 40}"#, #"{"type": "integer", "minimum": 0, "maximum": 1000}"#,
            #"{"enum": ["red", "green", "blue", "other"]}"#, #"{"type": "boolean"}"#, #"{"type": "number"}"#,
            #"{"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5}"#, #"{"type": "string", "format": "date"}"#,
            #"{"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}, "c": {"type": ["string", "null"]}}, "required": ["a", "b", "c"], "additionalProperties": false}"#,
            #"{"type": "string", "pattern": "^[A-Z]{2}-[0-9]{3,5}$"}"#, #"{"type": "string", "format": "email"}"#,
        ]
        let properties = (0..<50).map { "\"field_\($0)\": \(kinds[$0 % kinds.count])" }
        let required = (0..<50).map { "\"field_\($0)\"" }
        return "{\"type\": \"object\", \"properties\": {\(properties.joined(separator: ", "))}, \"required\": [\(required.joined(separator: ", "))], \"additionalProperties\": false}"
    }

    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not downloaded"))
    func aFiftyPropertySchemaCompilesAndItsMasksAreBounded() throws {
        let clock = ContinuousClock()
        let schema = try JSONValue.parse(Self.fiftyProperties)
        var grammar = Grammar()
        var compileTimes: [Duration] = []
        for _ in 0..<5 {
            compileTimes.append(clock.measure { grammar = try! JSONSchemaGrammar.compile(schema: schema) })
        }
        let elements = grammar.rules.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }

        let tokens = try TokenTrieTests.vocabulary()
        var trie = TokenTrie(tokens: [])
        let trieTime = clock.measure { trie = TokenTrie(tokens: tokens) }
        let cache = TokenMaskCache(trie: trie)
        var random = SplitMix64(seed: 50)
        var maskTime = Duration.zero
        var states = 0, checked = 0
        for _ in 0..<3 {
            let instance = try #require(try SchemaValidationTests.draw(grammar, &random, limit: 20_000))
            // The matcher at every character boundary of the instance: a superset of the
            // states token boundaries reach.
            var matcher = try GrammarMatcher(grammar)
            for (offset, byte) in Array(instance.utf8).enumerated() {
                if byte & 0xC0 != 0x80 {
                    var mask = TokenSet(count: 0)
                    maskTime += clock.measure { mask = cache.allowedTokens(after: matcher) }
                    states += 1
                    if offset % 97 == 0 {
                        #expect(mask == trie.allowedTokens(after: matcher), "at byte \(offset)")
                        checked += 1
                    }
                }
                let accepted = matcher.accept(byte)
                #expect(accepted)
            }
        }
        let counts = cache.counts
        let bytes = counts.states * 256 * 4 + counts.masks * (tokens.count + 63) / 64 * 8
        compileTimes.sort()
        print("50-property schema: compiled in \(compileTimes[2]) (median of 5) to \(grammar.rules.count) rules, \(elements) elements; "
            + "vocabulary trie \(trie.nodeCount) nodes (longest token \(trie.longestToken) bytes) in \(trieTime); 3 drawn outputs: \(states) masks asked in \(maskTime), "
            + "\(counts.states) states interned, \(counts.masks) masks kept, about \(bytes / 1_000_000) MB")
        #expect(checked > 20)
        #expect(counts.states < TokenMaskCache.maximumStates)
    }
}
