import Foundation
import Inference
import Testing
import TestSupport

/// Gemma 3 270M (Q4_K_M, fetched by Ops/setup) against llama.cpp's tokenizations and greedy
/// ids in Tests/Fixtures/reference/gemma3. Slow in debug builds: Ops/test runs it in release.
@Suite(.serialized) struct Gemma3ModelTests {
    static let model: Model? = load(.nibblePanels)
    static let fp32Model: Model? = load(.panels)

    static func load(_ layout: WeightMatrix.Layout) -> Model? {
        guard let path = Repository.gemmaModelPath else { return nil }
        return try? Model(gguf: GGUFFile(path: path), layout: layout)
    }

    static let notFetched: Comment = "Gemma 3 not fetched (run Ops/setup)"

    @Test func hyperparametersComeFromTheFile() throws {
        let config = try #require(Self.model, Self.notFetched).config
        #expect(config.architecture == .gemma3)
        #expect(config.layerCount == 18 && config.embeddingSize == 640 && config.feedForwardSize == 2048)
        #expect(config.headCount == 4 && config.kvHeadCount == 1 && config.headSize == 256)
        #expect(config.vocabularySize == 262_144 && config.contextLength == 32_768)
        #expect(config.ropeStyle == .halves && config.ropeBase == 1_000_000 && config.slidingRopeBase == 10_000)
        #expect(config.slidingWindow == 512)
        #expect((0..<18).filter { !config.slides(layer: $0) } == [5, 11, 17])
        #expect(config.attentionScale == 1 / 16 && config.embeddingScale == Float(640).squareRoot())
        #expect(config.activation == .geluTanh && config.headNorms && config.outputNorms && config.logitSoftCap == nil)
    }

    /// Every case of llama.cpp's `/tokenize` (BOS added; with and without special-token parsing).
    @Test func textTokenizesLikeLlamaCpp() throws {
        let tokenizer = try #require(Self.model, Self.notFetched).tokenizer
        for reference in try ReferenceData.gemmaTokenize() {
            let ids = tokenizer.encode(reference.text, parseSpecial: reference.parse_special, addSpecial: true)
            #expect(ids == reference.ids, "\(reference.text.prefix(40))")
        }
    }

    /// The file has no chat template: Gemma's turn format is chosen by the architecture and
    /// gives llama.cpp's prompt ids for the chat cases.
    @Test func conversationsUseGemmasTurnFormat() throws {
        let model = try #require(Self.model, Self.notFetched)
        #expect(try model.chatTemplate.get().family == .gemma)
        let chats = try ReferenceData.gemmaGreedy().filter { $0.kind == "chat" }
        #expect(chats.count >= 5)
        for reference in chats {
            #expect(model.promptTokens(reference.prompt) == reference.prompt_ids)
            let question = reference.prompt.dropFirst("<start_of_turn>user\n".count)
                .prefix { $0 != "<" }
            #expect(try model.promptTokens([ChatMessage(role: "user", content: String(question))]) == reference.prompt_ids)
        }
    }

    /// The default (integer) products agree with llama.cpp's greedy ids over the first 16
    /// tokens at least as often as the fp32 path does.
    @Test func greedyIdsAgreeWithLlamaCppAtLeastAsOftenAsFP32() throws {
        let model = try #require(Self.model, Self.notFetched)
        let fp32 = try #require(Self.fp32Model, Self.notFetched)
        let cases = try ReferenceData.gemmaGreedy()
        let endOfGeneration = model.tokenizer.endOfGeneration
        func agreeing(_ model: Model) throws -> [Int] {
            let results = try ReferenceModelTests.greedyBatched(
                ReferenceModelTests.context(model, sequences: cases.count), prompts: cases.map(\.prompt_ids),
                steps: cases[0].n, endOfGeneration: endOfGeneration)
            return [8, 16, 32].map { length in
                zip(cases, results).filter { Array($1.prefix(length)) == Array($0.llama_cpp_ids.prefix(length)) }.count
            }
        }
        let integer = try agreeing(model), float = try agreeing(fp32)
        print("gemma3: first 8/16/32 ids equal to llama.cpp's in \(integer) (integer products), \(float) (fp32) of \(cases.count)")
        #expect(integer[1] >= float[1])
        #expect(Double(integer[0]) >= 0.5 * Double(cases.count))
    }

    /// A sequence alone and among others gives the same tokens (sliding-window layers included,
    /// once the prompt is longer than the window).
    @Test func aSequenceAloneAndInABatchGiveTheSameTokens() throws {
        let model = try #require(Self.model, Self.notFetched)
        let cases = try ReferenceData.gemmaGreedy()
        // Past the 512-position window: the first prompt repeated.
        let long = Array(repeating: cases[1].prompt_ids.dropFirst(), count: 60).flatMap { $0 }
        let prompts = [cases[0].prompt_ids, [2] + long, cases[2].prompt_ids]
        #expect(prompts[1].count > 600)
        let alone = try ReferenceModelTests.greedyBatched(ReferenceModelTests.context(model), prompts: [prompts[1]], steps: 12,
                                                          endOfGeneration: [])
        let together = try ReferenceModelTests.greedyBatched(ReferenceModelTests.context(model, sequences: 3, maxRows: 64),
                                                             prompts: prompts, steps: 12, endOfGeneration: [])
        #expect(alone[0] == together[1])
    }
}
