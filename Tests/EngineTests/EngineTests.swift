import Engine
import Inference
import Logging
import Testing
import TestSupport

/// The engine on the real reference model. Slow in debug builds: Ops/test runs it in release.
@Suite(.serialized) struct EngineTests {
    /// In f32 panels, so results can be compared with the fp32 reference.
    static let model: Model? = Repository.referenceModelPath.flatMap { try? Model(path: $0, layout: .panels) }
    /// The default for workers: 4-bit weights times 8-bit activations.
    static let nibbleModel: Model? = Repository.referenceModelPath.flatMap { try? Model(path: $0, layout: .nibblePanels) }

    static func engine(_ model: Model, maxRunning: Int = 64, cachePositions: Int? = nil, tokenBudget: Int? = nil) -> Engine {
        Engine(model: model, configuration: EngineConfiguration(
            maxRunning: maxRunning, tokenBudget: tokenBudget, cachePositions: cachePositions), logger: Logger(label: "test"))
    }

    static func params(maxTokens: Int = 24, temperature: Double = 0, seed: UInt64? = nil, n: Int = 1) -> SamplingParams {
        var params = SamplingParams()
        params.maxTokens = maxTokens
        params.temperature = temperature
        params.seed = seed
        params.n = n
        return params
    }

    /// Runs until idle; results by request id.
    static func run(_ engine: Engine, _ requests: [GenerationRequest]) -> [String: GenerationResult] {
        requests.forEach(engine.submit)
        var results: [String: GenerationResult] = [:]
        while !engine.isIdle {
            for result in engine.step() { results[result.requestID] = result }
        }
        return results
    }

    static func tokens(_ result: GenerationResult?) -> [[TokenID]] {
        (try? result?.outcome.get())?.map(\.tokenIDs) ?? []
    }

    @Test func greedyGenerationMatchesTheFP32Reference() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let cases = try ReferenceData.greedy()
        let requests = cases.enumerated().map {
            GenerationRequest(id: "\($0)", prompt: .tokens($1.prompt_ids), params: Self.params(maxTokens: $1.n))
        }
        let results = Self.run(Self.engine(model), requests)
        let matching = cases.indices.filter { Self.tokens(results["\($0)"]).first == cases[$0].ref_fp32_ids }.count
        #expect(matching == cases.count, "\(matching)/\(cases.count) match ref_fp32_ids")
        // A stop at end-of-generation drops the token's text but keeps its id.
        for (index, reference) in cases.enumerated() where reference.ref_fp32_ids.last.map({ [0, 2, 4].contains($0) }) == true {
            let completion = try #require(try results["\(index)"]?.outcome.get().first)
            #expect(completion.finishReason == .stop)
            #expect(completion.text == reference.ref_fp32_text)
        }
    }

    /// Greedy and seeded requests give bit-identical tokens alone, among 63 others, first or
    /// last, and when preempted and recomputed, with either kernel.
    @Test(arguments: [WeightMatrix.Layout.panels, .nibblePanels])
    func resultsDoNotDependOnTheBatch(layout: WeightMatrix.Layout) throws {
        let model = try #require(layout == .panels ? Self.model : Self.nibbleModel, "reference model not fetched (run Ops/setup)")
        let prompts = try ReferenceData.greedy().map(\.prompt_ids)
        let probes = [
            GenerationRequest(id: "greedy", prompt: .tokens(prompts[0]), params: Self.params(maxTokens: 40)),
            GenerationRequest(id: "seeded", prompt: .tokens(prompts[1]), params: Self.params(maxTokens: 40, temperature: 0.9, seed: 1234)),
        ]
        let others = (0..<63).map {
            GenerationRequest(id: "other\($0)", prompt: .tokens(prompts[$0 % prompts.count]),
                              params: Self.params(maxTokens: 8 + $0 % 40, temperature: 0.7, seed: UInt64($0)))
        }
        let alone = Self.run(Self.engine(model), probes)
        let first = Self.run(Self.engine(model), probes + others)
        let last = Self.run(Self.engine(model), others + probes)
        // A cache of 24 blocks of 16 positions cannot hold everyone: sequences are preempted.
        let crowded = Self.engine(model, maxRunning: 16, cachePositions: 24 * 16)
        let preempted = Self.run(crowded, Array(others.prefix(20)) + probes)
        #expect(crowded.statistics.preemptions > 0)
        for probe in probes.map(\.id) {
            let reference = Self.tokens(alone[probe])
            #expect(reference.first?.count ?? 0 > 0)
            #expect(Self.tokens(first[probe]) == reference, "\(probe) first in a batch of 65")
            #expect(Self.tokens(last[probe]) == reference, "\(probe) last in a batch of 65")
            #expect(Self.tokens(preempted[probe]) == reference, "\(probe) with preemption")
        }
    }

    @Test func severalCompletionsShareThePromptAndDiffer() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let request = GenerationRequest(id: "n", prompt: .text("Once upon a time"),
                                        params: Self.params(maxTokens: 16, temperature: 1.0, seed: 7, n: 4))
        let completions = try #require(try Self.run(Self.engine(model), [request])["n"]?.outcome.get())
        #expect(completions.map(\.index) == [0, 1, 2, 3])
        #expect(Set(completions.map(\.tokenIDs)).count > 1)
        let again = try #require(try Self.run(Self.engine(model), [request])["n"]?.outcome.get())
        #expect(again.map(\.tokenIDs) == completions.map(\.tokenIDs))
    }

    /// Every completion continues the whole prompt: greedy, all n equal the single one.
    @Test func greedyCompletionsAllContinueThePrompt() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let single = GenerationRequest(id: "1", prompt: .text("Once upon a time"), params: Self.params(maxTokens: 12))
        let several = GenerationRequest(id: "3", prompt: .text("Once upon a time"), params: Self.params(maxTokens: 12, n: 3))
        let results = Self.run(Self.engine(model), [single, several])
        let expected = try #require(Self.tokens(results["1"]).first)
        #expect(Self.tokens(results["3"]) == [expected, expected, expected])
    }

    @Test func stopStringsEndGenerationAndAreNotIncluded() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let plain = GenerationRequest(id: "plain", prompt: .text("The capital of France is"), params: Self.params(maxTokens: 20))
        let full = try #require(try Self.run(Self.engine(model), [plain])["plain"]?.outcome.get().first)
        let words = full.text.split(separator: " ")
        try #require(words.count >= 3)
        let stop = String(words[2])
        var params = Self.params(maxTokens: 20)
        params.stop = [stop]
        let stopped = try #require(try Self.run(Self.engine(model), [GenerationRequest(id: "s", prompt: plain.prompt, params: params)])["s"]?.outcome.get().first)
        #expect(stopped.finishReason == .stop)
        #expect(stopped.stopReason == stop)
        #expect(!stopped.text.contains(stop))
        #expect(full.text.hasPrefix(stopped.text))
    }

    @Test func aRequestBeyondTheContextFailsAloneAndOthersRun() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let tooLong = GenerationRequest(id: "long", prompt: .text("hello"), params: Self.params(maxTokens: model.config.contextLength))
        let fine = GenerationRequest(id: "fine", prompt: .text("hello"), params: Self.params(maxTokens: 4))
        let results = Self.run(Self.engine(model), [tooLong, fine])
        guard case .failure(let error)? = results["long"]?.outcome else {
            Issue.record("expected a failure")
            return
        }
        #expect(error.description.contains("context length"))
        #expect(Self.tokens(results["fine"]).first?.count == 4)
    }

    @Test func cancellingStopsWaitingAndRunningRequests() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let engine = Self.engine(model, maxRunning: 1)
        engine.submit(GenerationRequest(id: "running", prompt: .text("Tell me a story"), params: Self.params(maxTokens: 200)))
        engine.submit(GenerationRequest(id: "waiting", prompt: .text("Another"), params: Self.params(maxTokens: 200)))
        var results: [String: GenerationResult] = [:]
        for _ in 0..<5 { for result in engine.step() { results[result.requestID] = result } }
        engine.cancel("running")
        engine.cancel("waiting")
        for result in engine.step() { results[result.requestID] = result }
        #expect(engine.isIdle)
        let running = try #require(try results["running"]?.outcome.get().first)
        #expect(running.finishReason == .cancelled)
        #expect(running.tokenIDs.count == 5)  // one token per step: the prompt step and four decodes
        let waiting = try #require(try results["waiting"]?.outcome.get().first)
        #expect(waiting.finishReason == .cancelled && waiting.tokenIDs.isEmpty)
        #expect(engine.usedBlocks == 0 || engine.runningSequences == 0)
    }

    @Test func aSharedPrefixIsComputedOnce() throws {
        let model = try #require(Self.model, "reference model not fetched (run Ops/setup)")
        let instruction = String(repeating: "Summarise the following text in one sentence, plainly. ", count: 6)
        let engine = Self.engine(model)
        let first = Self.run(engine, [GenerationRequest(id: "a", prompt: .text(instruction + "Cats sleep."), params: Self.params(maxTokens: 4))])
        let second = Self.run(engine, [GenerationRequest(id: "b", prompt: .text(instruction + "Dogs bark."), params: Self.params(maxTokens: 4))])
        #expect(first["a"]?.cachedPromptTokens == 0)
        let cached = second["b"]?.cachedPromptTokens ?? 0
        #expect(cached >= 48, "cached \(cached) of \(second["b"]?.promptTokens ?? 0) prompt tokens")
    }
}
