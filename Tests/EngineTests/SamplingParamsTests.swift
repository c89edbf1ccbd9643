import Engine
import ScribeCore
import Foundation
import Inference
import Testing

@Suite struct SamplingParamsTests {
    @Test func emptyObjectGivesVLLMDefaults() throws {
        let p = try SamplingParams.parse(json: "{}")
        #expect(p == SamplingParams())
        #expect(p.temperature == 1 && p.topK == 0 && p.topP == 1 && p.minP == 0)
        #expect(p.repetitionPenalty == 1 && p.presencePenalty == 0 && p.frequencyPenalty == 0)
        #expect(p.seed == nil && p.stop.isEmpty && p.stopTokenIDs.isEmpty)
        #expect(p.maxTokens == 16 && p.minTokens == 0 && !p.ignoreEOS && p.logitBias.isEmpty)
        #expect(p.logprobs == nil && p.n == 1)
    }

    static let everyField = """
        {"temperature": 0.7, "top_k": 40, "top_p": 0.9, "min_p": 0.05, "repetition_penalty": 1.1,
         "presence_penalty": -0.5, "frequency_penalty": 2, "seed": 18446744073709551615,
         "stop": ["\\n\\n", "END"], "stop_token_ids": [2, 7], "max_tokens": 128, "min_tokens": 4,
         "ignore_eos": true, "logit_bias": {"50256": -100, "13": 2.5}, "logprobs": 5, "n": 3}
        """

    @Test func everyFieldParses() throws {
        let p = try SamplingParams.parse(json: Self.everyField)
        var expected = SamplingParams()
        expected.temperature = 0.7
        expected.topK = 40
        expected.topP = 0.9
        expected.minP = 0.05
        expected.repetitionPenalty = 1.1
        expected.presencePenalty = -0.5
        expected.frequencyPenalty = 2
        expected.seed = .max
        expected.stop = ["\n\n", "END"]
        expected.stopTokenIDs = [2, 7]
        expected.maxTokens = 128
        expected.minTokens = 4
        expected.ignoreEOS = true
        expected.logitBias = [50256: -100, 13: 2.5]
        expected.logprobs = 5
        expected.n = 3
        #expect(p == expected)
    }

    @Test func lenientButExactForms() throws {
        let p = try SamplingParams.parse(json: """
            {"stop": "###", "top_k": -1, "max_tokens": 5.0, "temperature": 0, "seed": 3, "logprobs": null, "top_p": null}
            """)
        #expect(p.stop == ["###"] && p.topK == 0 && p.maxTokens == 5 && p.temperature == 0 && p.seed == 3)
        #expect(p.logprobs == nil && p.topP == 1 && p.isGreedy)
    }

    @Test func ignoredKeysAndPrefix() throws {
        #expect(try SamplingParams.parse(json: #"{"model": "smollm", "n": 2}"#, ignoring: ["model"]).n == 2)
        #expect { try SamplingParams.parse(json: #"{"model": "x"}"#) } throws: {
            ($0 as? SamplingParamsError)?.message == "unknown field params.model"
        }
        #expect { try SamplingParams.parse(json: #"{"temprature": 1}"#, fieldPrefix: "") } throws: {
            ($0 as? SamplingParamsError)?.message == "unknown field temprature (did you mean temperature?)"
        }
    }

    /// (JSON, the field the error must name, the exact message or nil to only check the field).
    static let invalid: [(String, String, String?)] = [
        (#"{"top_p": 1.5}"#, "params.top_p", "params.top_p must be a number in (0, 1], got 1.5"),
        (#"{"top_p": 0}"#, "params.top_p", nil),
        (#"{"temprature": 0.5}"#, "params.temprature", "unknown field params.temprature (did you mean params.temperature?)"),
        (#"{"temperature": -0.1}"#, "params.temperature", "params.temperature must be a number in [0, 100], got -0.1"),
        (#"{"temperature": true}"#, "params.temperature", "params.temperature must be a number in [0, 100], got true"),
        (#"{"temperature": "1"}"#, "params.temperature", #"params.temperature must be a number in [0, 100], got "1""#),
        (#"{"temperature": 1e400}"#, "params.temperature", nil),
        (#"{"logit_bias": {"5": 1e999}}"#, #"params.logit_bias["5"]"#, nil),
        (#"{"temperature": NaN}"#, "params.temperature", nil),
        (#"{"top_k": -2}"#, "params.top_k", "params.top_k must be -1, 0 (off) or an integer >= 1, got -2"),
        (#"{"top_k": 2.5}"#, "params.top_k", nil),
        (#"{"min_p": 1.1}"#, "params.min_p", "params.min_p must be a number in [0, 1], got 1.1"),
        (#"{"repetition_penalty": 0}"#, "params.repetition_penalty", "params.repetition_penalty must be a number in (0, 100], got 0"),
        (#"{"presence_penalty": 2.5}"#, "params.presence_penalty", nil),
        (#"{"frequency_penalty": -3}"#, "params.frequency_penalty", nil),
        (#"{"seed": -1}"#, "params.seed", "params.seed must be an integer in [0, 18446744073709551615] or null, got -1"),
        (#"{"seed": 1.5}"#, "params.seed", nil),
        (#"{"seed": "7"}"#, "params.seed", nil),
        (#"{"stop": 5}"#, "params.stop", "params.stop must be a string or an array of strings, got 5"),
        (#"{"stop": ""}"#, "params.stop", #"params.stop must be a non-empty string, got """#),
        (#"{"stop": ["a", 1]}"#, "params.stop[1]", "params.stop[1] must be a non-empty string, got 1"),
        (#"{"stop": ["1","2","3","4","5","6","7","8","9"]}"#, "params.stop", "params.stop has 9 strings; at most 8 are allowed"),
        (#"{"stop": [""# + String(repeating: "x", count: 257) + #""]}"#, "params.stop[0]", nil),
        (#"{"stop_token_ids": 5}"#, "params.stop_token_ids", nil),
        (#"{"stop_token_ids": [1, -1]}"#, "params.stop_token_ids[1]", "params.stop_token_ids[1] must be a token id (an integer >= 0), got -1"),
        (#"{"stop_token_ids": [3000000000]}"#, "params.stop_token_ids[0]", nil),
        (#"{"max_tokens": 0}"#, "params.max_tokens", "params.max_tokens must be an integer in [1, 1048576], got 0"),
        (#"{"max_tokens": -5}"#, "params.max_tokens", nil),
        (#"{"max_tokens": 1.5}"#, "params.max_tokens", nil),
        (#"{"max_tokens": true}"#, "params.max_tokens", nil),
        (#"{"min_tokens": 20}"#, "params.min_tokens", "params.min_tokens must be an integer in [0, max_tokens] (max_tokens is 16), got 20"),
        (#"{"min_tokens": -1}"#, "params.min_tokens", nil),
        (#"{"ignore_eos": 1}"#, "params.ignore_eos", "params.ignore_eos must be true or false, got 1"),
        (#"{"logit_bias": [1]}"#, "params.logit_bias", nil),
        (#"{"logit_bias": {"abc": 1}}"#, "params.logit_bias", #"params.logit_bias key "abc" must be a token id (an integer >= 0)"#),
        (#"{"logit_bias": {"-1": 1}}"#, "params.logit_bias", nil),
        (#"{"logit_bias": {"5": 101}}"#, #"params.logit_bias["5"]"#, #"params.logit_bias["5"] must be a number in [-100, 100], got 101"#),
        (#"{"logit_bias": {"5": true}}"#, #"params.logit_bias["5"]"#, nil),
        (#"{"logprobs": 21}"#, "params.logprobs", "params.logprobs must be an integer in [0, 20] or null, got 21"),
        (#"{"logprobs": true}"#, "params.logprobs", nil),
        (#"{"n": 0}"#, "params.n", "params.n must be an integer in [1, 16], got 0"),
        (#"{"n": 17}"#, "params.n", nil),
        (#"[1]"#, "params", "params must be a JSON object, got an array"),
        (#"{"n": 1"#, "params", nil),
        (#""#, "params", nil),
    ]

    @Test(arguments: invalid.indices)
    func invalidValuesNameTheField(index: Int) {
        let (json, field, message) = Self.invalid[index]
        do {
            let p = try SamplingParams.parse(json: json)
            Issue.record("\(json) parsed as \(p)")
        } catch {
            #expect(error.field == field, "\(json): \(error.message)")
            #expect(error.message.contains(field), "\(json): \(error.message)")
            if let message { #expect(error.message == message) }
        }
    }

    @Test func encodingAndParsingBackKeepsEveryField() throws {
        let p = try SamplingParams.parse(json: Self.everyField)
        #expect(try SamplingParams.parse(json: JSONValue(encoding: p).jsonText) == p)
        // Foundation's encoder writes the same value.
        let foundation = String(decoding: try JSONEncoder().encode(p), as: UTF8.self)
        #expect(try JSONValue.parse(foundation) == JSONValue.parse(JSONValue(encoding: p).jsonText))
    }

    /// A constraint encodes as `structured_outputs` and reads back as the same constraint.
    @Test func constraintsEncodeAndParseBack() throws {
        for json in [#"{"structured_outputs": {"regex": "a+"}}"#, #"{"response_format": {"type": "json_object"}}"#,
                     #"{"response_format": {"type": "json_schema", "json_schema": {"name": "n", "schema": {"type": "object", "properties": {"a": {"enum": [1, "x"]}}}}}}"#,
                     #"{"structured_outputs": {"choice": ["a", "b"]}}"#, #"{"structured_outputs": {"grammar": "root ::= \"a\""}}"#] {
            let p = try SamplingParams.parse(json: json)
            let back = try SamplingParams.parse(json: JSONValue(encoding: p).jsonText)
            #expect(back.constraint?.kind == p.constraint?.kind, "\(json)")
            #expect(back.constraint?.key == p.constraint?.key, "\(json)")
            #expect(p.constraint != nil)
        }
    }

    @Test func tokenIDsAreCheckedAgainstTheVocabulary() throws {
        let p = try SamplingParams.parse(json: Self.everyField)
        try p.validate(vocabularySize: 50257)
        #expect { try p.validate(vocabularySize: 49152) } throws: {
            ($0 as? SamplingParamsError)?.message
                == #"params.logit_bias key "50256" is not a token id of this model (vocabulary size 49152)"#
        }
    }
}
