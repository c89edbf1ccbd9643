import Foundation
import Inference
import Testing
import TestSupport
@testable import Constraints

/// The trie walk finds exactly the tokens that trying each token alone finds, on the
/// reference model's vocabulary, in states where few, some and most tokens fit.
@Suite struct TokenTrieTests {
    static func vocabulary() throws -> [[UInt8]] {
        let tokenizer = try Tokenizer(gguf: GGUFFile(path: try #require(Repository.referenceModelPath)))
        return (0..<tokenizer.vocabularySize).map { tokenizer.bytes(of: TokenID($0)) }
    }

    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not downloaded"))
    func theWalkFindsExactlyTheTokensThatFitOneByOne() throws {
        let tokens = try Self.vocabulary()
        let trie = TokenTrie(tokens: tokens)
        let grammar = JSONGrammar.object()
        for prefix in ["", "{", #"{"na"#, #"{"name": "#, #"{"name": "Ada", "age": 3"#, #"{"a": [1, {"b": null}"#, #"{"a": tr"#] {
            var matcher = try GrammarMatcher(grammar)
            let fed = matcher.accept(Array(prefix.utf8))
            #expect(fed, "\(prefix)")
            let clock = ContinuousClock()
            var walked = TokenSet(count: 0)
            let walkTime = clock.measure { walked = trie.allowedTokens(after: matcher) }
            var alone = TokenSet(count: tokens.count)
            for (id, bytes) in tokens.enumerated() where !bytes.isEmpty {
                var trial = matcher
                if trial.accept(bytes) { alone.insert(id) }
            }
            #expect(walked == alone, "after \(prefix)")
            print("token mask after \(prefix.debugDescription): \(walked.population) of \(tokens.count) tokens, \(walkTime)")
        }
        // Inside a string nearly every token fits; after `{` only those starting a key.
        var inString = try GrammarMatcher(grammar)
        _ = inString.accept(Array(#"{"na"#.utf8))
        #expect(trie.allowedTokens(after: inString).population > tokens.count / 2)
    }

    /// The cache's masks (per-position tokens plus the uncertain ones checked against
    /// the whole stack) equal the plain walk's, in strings of different contexts, numbers,
    /// literals and between tokens. (Printed: a new string context costs its uncertain
    /// tokens only, once the first string's top frames are walked.)
    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not downloaded"))
    func cachedMasksEqualTheWalk() throws {
        let tokens = try Self.vocabulary()
        let cache = TokenMaskCache(trie: TokenTrie(tokens: tokens))
        let grammar = JSONGrammar.object()
        let clock = ContinuousClock()
        var timings: [String] = []
        for prefix in ["{", #"{"k"#, #"{"key": "va"#, #"{"key": "value", "list": ["x"#, #"{"a": {"b": [{"c": "d"#,
                       #"{"n": -12.5e"#, #"{"n": 1"#, #"{"t": fa"#, #"{"a": [1, "#, #"{"a": [1]"#, #"{"s": "\u00"#,
                       #"{"a": {"b": [{"c": "dd"#] {
            var matcher = try GrammarMatcher(grammar)
            let fed = matcher.accept(Array(prefix.utf8))
            #expect(fed, "\(prefix)")
            var cached = TokenSet(count: 0)
            let time = clock.measure { cached = cache.allowedTokens(after: matcher) }
            #expect(cached == cache.trie.allowedTokens(after: matcher), "after \(prefix)")
            timings.append("\(prefix.debugDescription) \(time)")
        }
        print("token masks from the cache, first time per state (\(cache.counts.states) states interned): "
            + timings.joined(separator: "; "))
    }

    /// Every character of a string leaves the matcher in the state it was in: the cache
    /// walks once, and answers what the walk answers.
    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not downloaded"))
    func masksAreCachedByState() throws {
        let tokens = try Self.vocabulary()
        let cache = TokenMaskCache(trie: TokenTrie(tokens: tokens))
        var matcher = try GrammarMatcher(JSONGrammar.object())
        _ = matcher.accept(Array(#"{"description": "A"#.utf8))
        let clock = ContinuousClock()
        var first = TokenSet(count: 0)
        let firstTime = clock.measure { first = cache.allowedTokens(after: matcher) }
        _ = matcher.accept(Array("n apple a day".utf8))
        var again = TokenSet(count: 0)
        let againTime = clock.measure { again = cache.allowedTokens(after: matcher) }
        #expect(again == first && again == cache.trie.allowedTokens(after: matcher))
        #expect(cache.counts.masks == 1)
        _ = matcher.accept(Array(#"", "#.utf8))
        #expect(cache.allowedTokens(after: matcher) == cache.trie.allowedTokens(after: matcher))
        #expect(cache.counts.masks == 2)
        print("token mask inside a string: first \(firstTime), cached \(againTime)")
    }

    /// A long bounded string shares one mask for every count that no token can reach
    /// the end of, and each mask still equals the plain walk's.
    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not downloaded"))
    func countsFarFromABoundShareAMask() throws {
        let tokens = try Self.vocabulary()
        let cache = TokenMaskCache(trie: TokenTrie(tokens: tokens))
        let grammar = try JSONSchemaGrammar.compile(schemaText: #"{"type": "string", "maxLength": 300}"#)
        let horizon = cache.trie.longestToken
        for count in [0, 1, 50, 150, 300 - horizon - 1, 300 - horizon, 300 - horizon + 1, 290, 299, 300] {
            var matcher = try GrammarMatcher(grammar)
            let fed = matcher.accept(Array(("\"" + String(repeating: "a", count: count)).utf8))
            #expect(fed)
            #expect(cache.allowedTokens(after: matcher) == cache.trie.allowedTokens(after: matcher), "after \(count) characters")
        }
        // Counts 0 to 300 − horizon (at least `horizon` characters left) are one state; the
        // four above it are their own.
        #expect(cache.counts.masks == 1 + 4, "\(cache.counts.masks) masks for 10 counts")
    }
}
