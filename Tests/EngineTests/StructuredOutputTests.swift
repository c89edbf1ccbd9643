import Constraints
import Engine
import Foundation
import Inference
import ScribeCore
import Testing
import TestSupport

/// Constrained generation on the reference model: every output that ends by `stop` is what
/// its constraint asks for, checked by means that share nothing with the grammar (the JSON
/// parser, Foundation's regular expressions, list membership); outputs cut by `max_tokens`
/// say `length`; results do not depend on the batch.
@Suite(.serialized) struct StructuredOutputTests {
    static func params(_ constraint: String, maxTokens: Int = 96, temperature: Double = 0, seed: UInt64? = nil,
                       n: Int = 1, stop: [String] = [], sampling: String = "{}") throws -> SamplingParams {
        guard case .object(var object) = try JSONValue.parse(constraint), case .object(let extra) = try JSONValue.parse(sampling) else {
            throw GenerationError("params are JSON objects")
        }
        object.merge(extra) { _, new in new }
        var params = try SamplingParams.parse(JSONValue.object(object), fieldPrefix: "params.")
        params.maxTokens = maxTokens
        params.temperature = temperature
        params.seed = seed
        params.n = n
        params.stop = stop
        return params
    }

    static let person = #"{"structured_outputs": {"json": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer", "minimum": 0, "maximum": 120}, "role": {"enum": ["admin", "user", "guest"]}, "tags": {"type": "array", "items": {"type": "string", "pattern": "[a-z]{1,8}"}, "maxItems": 3}}, "required": ["name", "age", "role", "tags"], "additionalProperties": false}}}"#

    /// What each constraint's outputs must be, judged without the grammar.
    static let cases: [(params: String, prompt: String, check: @Sendable (String) -> Bool)] = [
        (#"{"response_format": {"type": "json_object"}}"#, "Describe a cat as JSON.", { text in
            if case .object? = try? JSONValue.parse(text) { true } else { false }
        }),
        (person, "Give me a user record for Ada, 36, an admin.", { text in
            guard case .object(let object)? = try? JSONValue.parse(text), object.keys.sorted() == ["age", "name", "role", "tags"],
                  case .string(let name)? = object["name"], name.count <= 20,
                  let age = object["age"]?.intValue, (0...120).contains(age),
                  case .string(let role)? = object["role"], ["admin", "user", "guest"].contains(role),
                  case .array(let tags)? = object["tags"], tags.count <= 3 else { return false }
            return tags.allSatisfy { if case .string(let tag) = $0 { tag.wholeMatch(of: /[a-z]{1,8}/) != nil } else { false } }
        }),
        (#"{"structured_outputs": {"regex": "(19|20)\\d\\d-(0[1-9]|1[0-2])-[0-2]\\d"}}"#, "When did the war end?", { text in
            text.wholeMatch(of: /(19|20)\d\d-(0[1-9]|1[0-2])-[0-2]\d/) != nil
        }),
        (#"{"structured_outputs": {"choice": ["positive", "negative", "neutral"]}}"#, "Sentiment of: I loved it!", { text in
            ["positive", "negative", "neutral"].contains(text)
        }),
        (#"{"structured_outputs": {"grammar": "root ::= \"The answer is \" [0-9]+ \".\""}}"#, "What is 6 times 7?", { text in
            text.wholeMatch(of: /The answer is [0-9]+\./) != nil
        }),
    ]

    static func requests(temperature: Double, seed: UInt64?, n: Int = 1, sampling: String = "{}") throws -> [GenerationRequest] {
        try cases.enumerated().map { index, item in
            GenerationRequest(id: "\(index)", prompt: .messages([ChatMessage(role: "user", content: item.prompt)]),
                              params: try params(item.params, temperature: temperature, seed: seed, n: n, sampling: sampling))
        }
    }

    /// Greedy, sampled, and sampled through every other stage of the chain (truncation,
    /// penalties, a bias towards a token no constraint here allows and against one some do).
    @Test(arguments: [(0.0, nil, "{}"), (1.0, 7, "{}"), (1.3, 11, "{}"),
                      (0.9, 5, #"{"top_k": 20, "top_p": 0.9, "min_p": 0.05, "repetition_penalty": 1.3, "presence_penalty": 0.5, "frequency_penalty": 0.5, "logit_bias": {"0": 100, "90": -50}}"#)]
          as [(Double, UInt64?, String)])
    func everyOutputThatStopsIsWhatItsConstraintAsksFor(temperature: Double, seed: UInt64?, sampling: String) throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let results = EngineTests.run(EngineTests.engine(model),
                                      try Self.requests(temperature: temperature, seed: seed, n: 2, sampling: sampling))
        var stopped = 0
        for (index, item) in Self.cases.enumerated() {
            let completions = try #require(try results["\(index)"]?.outcome.get(), "case \(index)")
            #expect(completions.count == 2)
            for completion in completions {
                switch completion.finishReason {
                case .stop:
                    stopped += 1
                    #expect(item.check(completion.text), "case \(index) at temperature \(temperature), \(sampling): \(completion.text)")
                default:
                    #expect(completion.finishReason == .length)
                    #expect(completion.tokenIDs.count == 96)
                }
            }
        }
        #expect(stopped >= Self.cases.count, "most outputs end complete: \(stopped) of \(2 * Self.cases.count)")
    }

    /// Greedy and seeded constrained requests give the same tokens alone, among 63 others
    /// (constrained and not), and when preempted and recomputed.
    @Test func constrainedResultsDoNotDependOnTheBatch() throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let probes = try Self.requests(temperature: 0, seed: nil).prefix(2).map { request in
            var request = request
            request.id = "greedy" + request.id
            return request
        } + Self.requests(temperature: 0.9, seed: 1234).suffix(2).map { request in
            var request = request
            request.id = "seeded" + request.id
            return request
        }
        let prompts = try ReferenceData.greedy().map(\.prompt_ids)
        let others = try (0..<63).map { index in
            var params = index % 2 == 0 ? try Self.params(Self.cases[index % Self.cases.count].params, maxTokens: 8 + index % 40,
                                                          temperature: 0.7, seed: UInt64(index))
                                        : EngineTests.params(maxTokens: 8 + index % 40, temperature: 0.7, seed: UInt64(index))
            params.n = 1
            return GenerationRequest(id: "other\(index)", prompt: .tokens(prompts[index % prompts.count]), params: params)
        }
        let alone = EngineTests.run(EngineTests.engine(model), probes)
        let crowdedFirst = EngineTests.run(EngineTests.engine(model), probes + others)
        let crowdedLast = EngineTests.run(EngineTests.engine(model), others + probes)
        // 16 blocks of 16 positions hold a few sequences at a time: the rest wait or are preempted.
        let crowded = EngineTests.engine(model, maxRunning: 16, cachePositions: 16 * 16)
        let preempted = EngineTests.run(crowded, Array(others.prefix(20)) + probes)
        #expect(crowded.statistics.preemptions > 0)
        for probe in probes.map(\.id) {
            let reference = EngineTests.tokens(alone[probe])
            #expect(reference.first?.count ?? 0 > 0, "\(probe)")
            #expect(EngineTests.tokens(crowdedFirst[probe]) == reference, "\(probe) first in a batch of 67")
            #expect(EngineTests.tokens(crowdedLast[probe]) == reference, "\(probe) last in a batch of 67")
            #expect(EngineTests.tokens(preempted[probe]) == reference, "\(probe) with preemption")
        }
    }

    /// A stop string ends a constrained output only after a complete value: within the
    /// value it is passed over.
    @Test func aStopStringEndsOnlyACompleteValue() throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let list = #"{"structured_outputs": {"regex": "[a-z]{2,6}(, [a-z]{2,6}){0,4}"}}"#
        let json = #"{"response_format": {"type": "json_object"}}"#
        let requests = [
            GenerationRequest(id: "list", prompt: .messages([ChatMessage(role: "user", content: "Name three fruits.")]),
                              params: try Self.params(list, stop: [","])),
            GenerationRequest(id: "json", prompt: .messages([ChatMessage(role: "user", content: "A dog as JSON with a name.")]),
                              params: try Self.params(json, stop: ["\"", ":"])),
        ]
        let results = EngineTests.run(EngineTests.engine(model), requests)
        let words = try #require(try results["list"]?.outcome.get().first)
        #expect(words.finishReason == .stop)
        #expect(words.stopReason == "," || words.stopReason == nil, "\(words.text)")
        #expect(words.text.wholeMatch(of: /[a-z]{2,6}(, [a-z]{2,6}){0,4}/) != nil, "\(words.text)")
        let object = try #require(try results["json"]?.outcome.get().first)
        #expect(object.text.contains("\""), "the stop strings inside the value were passed over: \(object.text)")
        if object.finishReason == .stop {
            #expect((try? JSONValue.parse(object.text)) != nil, "\(object.text)")
        }
    }

    /// Cancelling a constrained request ends it at the next step with its partial text.
    @Test func aConstrainedRequestIsCancelledLikeAnyOther() throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let engine = EngineTests.engine(model, maxRunning: 1)
        engine.submit(GenerationRequest(id: "json", prompt: .messages([ChatMessage(role: "user", content: "A user record.")]),
                                        params: try Self.params(Self.person, maxTokens: 200)))
        var results: [String: GenerationResult] = [:]
        for _ in 0..<5 { for result in engine.step() { results[result.requestID] = result } }
        engine.cancel("json")
        for result in engine.step() { results[result.requestID] = result }
        #expect(engine.isIdle)
        let completion = try #require(try results["json"]?.outcome.get().first)
        #expect(completion.finishReason == .cancelled && completion.tokenIDs.count == 5)
        #expect(completion.text.hasPrefix("{"), "\(completion.text)")
    }

    /// `max_tokens` cuts a value short: `length`, and the text is a prefix, not a value.
    @Test func aValueCutByMaxTokensSaysLength() throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let request = GenerationRequest(id: "cut", prompt: .messages([ChatMessage(role: "user", content: "A user record.")]),
                                        params: try Self.params(Self.person, maxTokens: 5))
        let completion = try #require(try EngineTests.run(EngineTests.engine(model), [request])["cut"]?.outcome.get().first)
        #expect(completion.finishReason == .length)
        #expect(completion.tokenIDs.count == 5)
        #expect((try? JSONValue.parse(completion.text)) == nil, "\(completion.text)")
    }

    /// A constraint that compiles to nothing fails its own request, naming where it was
    /// written; the others run; a thousand requests with it compile it once.
    @Test func aConstraintThatCannotCompileFailsItsRequestAlone() throws {
        let model = try #require(EngineTests.nibbleModel, "reference model not fetched (run Ops/setup)")
        let engine = EngineTests.engine(model)
        let bad = [
            ("oneOf", #"{"structured_outputs": {"json": {"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}}}"#,
             "params.structured_outputs.json.oneOf[1]: oneOf is supported when"),
            ("grammar", #"{"structured_outputs": {"grammar": "root ::= missing"}}"#, "params.structured_outputs.grammar: line 1: rule missing"),
            ("bounds", #"{"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "integer", "minimum": 5, "maximum": 1}}}}"#,
             "params.response_format.json_schema.schema.maximum: no integer lies between the bounds"),
        ]
        var requests = try bad.map { GenerationRequest(id: $0.0, prompt: .text("Hi"), params: try Self.params($0.1, maxTokens: 4)) }
        requests.append(GenerationRequest(id: "good", prompt: .text("Hi"), params: EngineTests.params(maxTokens: 4)))
        let results = EngineTests.run(engine, requests.map(engine.tokenized))
        for (id, _, message) in bad {
            let result = try #require(results[id])
            guard case .failure(let error) = result.outcome else {
                Issue.record("\(id) ran")
                continue
            }
            #expect(error.kind == .invalidInput)
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
        #expect(try results["good"]?.outcome.get().first?.tokenIDs.count == 4)
    }

    /// `choice_logprobs`: each choice's score from one shared prefill plus its own tokens
    /// is within 1e-4 of scoring it alone (the prompt and the tokens before each one
    /// prefilled, the token's raw logprob read off), with the f32 panels; the probabilities
    /// sum to 1, the text is the most probable choice, and the scores do not depend on
    /// the batch.
    @Test func choiceProbabilitiesMatchScoringEachChoiceAlone() throws {
        let model = try #require(EngineTests.model, "reference model not fetched (run Ops/setup)")
        let choices = ["positive", "negative", "neutral", "mixed feelings"]
        let messages = [ChatMessage(role: "user", content: "Sentiment of this review: 'The lamp is bright, but it broke after a week.'")]
        let params = try Self.params(#"{"structured_outputs": {"choice": ["positive", "negative", "neutral", "mixed feelings"]}, "choice_logprobs": true}"#)
        let scored = GenerationRequest(id: "scored", prompt: .messages(messages), params: params)
        let completion = try #require(try EngineTests.run(EngineTests.engine(model), [scored])["scored"]?.outcome.get().first)
        let scores = try #require(completion.choiceScores)
        #expect(scores.map(\.choice) == choices)
        #expect(abs(scores.reduce(0) { $0 + $1.probability } - 1) < 1e-9)
        let best = scores.max { $0.probability < $1.probability }!
        #expect(completion.text == best.choice && completion.finishReason == .stop)

        let promptTokens = try model.promptTokens(messages)
        var alone: [GenerationRequest] = []
        for (index, choice) in choices.enumerated() {
            let tokens = model.tokenizer.encode(choice, parseSpecial: false, addSpecial: false)
            for position in tokens.indices {
                var single = EngineTests.params(maxTokens: 1)
                single.logprobs = 0
                single.logitBias = [tokens[position]: 100]  // drawn whatever its logit; the logprob is the raw one
                alone.append(GenerationRequest(id: "\(index)-\(position)", prompt: .tokens(promptTokens + tokens[..<position]),
                                               params: single))
            }
        }
        let singles = EngineTests.run(EngineTests.engine(model), alone)
        for (index, choice) in choices.enumerated() {
            let tokens = model.tokenizer.encode(choice, parseSpecial: false, addSpecial: false)
            var sum = 0.0
            for position in tokens.indices {
                let sample = try #require(try singles["\(index)-\(position)"]?.outcome.get().first?.logprobs?.first)
                #expect(sample.token == tokens[position])
                sum += Double(try #require(sample.logprob))
            }
            #expect(abs(scores[index].logprob - sum) < 1e-4, "\(choice): \(scores[index].logprob) shared, \(sum) alone")
        }
        print("choice probabilities: " + scores.map { "\($0.choice) \($0.probability)" }.joined(separator: ", "))

        // Among 40 other requests, the same scores bit for bit.
        let prompts = try ReferenceData.greedy().map(\.prompt_ids)
        let others = (0..<40).map {
            GenerationRequest(id: "other\($0)", prompt: .tokens(prompts[$0 % prompts.count]),
                              params: EngineTests.params(maxTokens: 8 + $0 % 20, temperature: 0.7, seed: UInt64($0)))
        }
        let crowded = EngineTests.run(EngineTests.engine(model), others + [scored])
        #expect(try crowded["scored"]?.outcome.get().first?.choiceScores == scores)
    }
}
