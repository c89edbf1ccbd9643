import Foundation
import Inference
import Testing
import TestSupport

/// The forward pass of tiny random-weight `qwen2` (q/k/v biases, NEOX RoPE, separate output
/// head), `llama` (permuted q/k, adjacent-pair RoPE, tied head) and `gemma3` (scaled
/// embeddings, q/k and output norms, GELU, sliding windows) models against
/// Tests/Fixtures/tiny-model/reference.py, a float64 NumPy implementation written as
/// Hugging Face computes these models.
@Suite struct TinyModelReferenceTests {
    /// f32 against f64 through two (gemma3: seven) layers; logits are of order 1 to 5.
    static let tolerance = 1e-4

    static func context(_ model: Model, blockSize: Int = 4, blockCount: Int = 16) -> InferenceContext {
        InferenceContext(model: model, cache: KVCache(config: model.config, blockSize: blockSize, blockCount: blockCount),
                         maxRows: 64)
    }

    /// Largest |ours - reference| over every logit of the given rows.
    static func difference(_ logits: Logits, _ expected: [[Double]]) -> Double {
        var worst = 0.0
        for (index, reference) in expected.enumerated() {
            let row = logits.row(index)
            for (ours, theirs) in zip(row, reference) { worst = max(worst, abs(Double(ours) - theirs)) }
        }
        return worst
    }

    @Test(arguments: ["qwen2", "llama", "gemma3"])
    func configurationFollowsTheArchitecture(_ architecture: String) throws {
        let fixture = try TinyModel.fixture(architecture)
        let config = try fixture.load().config
        #expect(config.architecture.rawValue == architecture)
        #expect(config.ropeStyle == (architecture == "llama" ? .adjacentPairs : .halves))
        #expect(config.attentionBias == (architecture == "qwen2"))
        #expect(config.headSize == fixture.head_size ?? fixture.embedding / fixture.heads)
        #expect(config.kvHeadCount == fixture.kv_heads)
        #expect(config.slidingWindow == fixture.sliding_window)
        #expect(config.activation == (architecture == "gemma3" ? .geluTanh : .silu))
        if architecture == "gemma3" {
            #expect(config.slidingRopeBase == fixture.rope_base_swa)
            #expect((0..<fixture.layers).map { config.slides(layer: $0) } == [true, true, true, true, true, false, true])
        }
        #expect(config.vocabularySize == fixture.vocab)
    }

    /// Each sequence alone, the whole of it in one call, logits at every position.
    @Test(arguments: ["qwen2", "llama", "gemma3"])
    func wholeSequencesMatchTheReference(_ architecture: String) throws {
        let fixture = try TinyModel.fixture(architecture)
        let model = try fixture.load()
        var worst = 0.0
        for sequence in fixture.sequences {
            let context = Self.context(model)
            let rows = sequence.tokens.enumerated().map {
                Batch.Row(token: $1, position: $0, sequence: 0, wantsLogits: true)
            }
            let logits = try context.decode(Batch(rows: rows, blockTables: [(0..<16).map { Int32($0) }]))
            #expect(logits.count == sequence.tokens.count)
            worst = max(worst, Self.difference(logits, sequence.logits))
        }
        print("\(architecture): max |logit - reference| over whole sequences: \(worst)")
        #expect(worst < Self.tolerance)
    }

    /// All sequences at once in calls of uneven chunks — a prompt chunk of one next to single
    /// decode rows of others — over scattered cache blocks of 4 positions.
    @Test(arguments: ["qwen2", "llama", "gemma3"])
    func chunkedMixedBatchesMatchTheReference(_ architecture: String) throws {
        let fixture = try TinyModel.fixture(architecture)
        let model = try fixture.load()
        let context = Self.context(model, blockCount: 12)
        let sequences = fixture.sequences
        // Blocks handed out interleaved and backwards, so no sequence's blocks are contiguous.
        let tables: [[Int32]] = sequences.indices.map { s in (0..<4).map { Int32(11 - ($0 * sequences.count + s)) } }
        let chunkSizes = [[3, 1, 2, 1], [5, 1, 3, 2], [1]]
        var done = [Int](repeating: 0, count: sequences.count)
        var call = 0
        var worst = 0.0
        while zip(done, sequences).contains(where: { $0 < $1.tokens.count }) {
            var rows: [Batch.Row] = []
            var expected: [[Double]] = []
            for (s, sequence) in sequences.enumerated() where done[s] < sequence.tokens.count {
                let size = chunkSizes[s][safe: call] ?? 1
                for position in done[s]..<min(done[s] + size, sequence.tokens.count) {
                    rows.append(.init(token: sequence.tokens[position], position: position, sequence: s, wantsLogits: true))
                    expected.append(sequence.logits[position])
                }
                done[s] = min(done[s] + size, sequence.tokens.count)
            }
            let logits = try context.decode(Batch(rows: rows, blockTables: tables))
            #expect(logits.count == rows.count)
            worst = max(worst, Self.difference(logits, expected))
            call += 1
        }
        print("\(architecture): max |logit - reference| over chunked mixed batches (\(call) calls): \(worst)")
        #expect(worst < Self.tolerance)
    }

    /// The fixture can tell the conventions apart: with the other RoPE pairing, without
    /// qwen2's biases, or with gemma3's layers all global or all on one RoPE base, the logits
    /// miss the reference by far more than the tolerance.
    @Test(arguments: ["qwen2", "llama", "gemma3"])
    func theWrongConventionMissesTheReference(_ architecture: String) throws {
        let fixture = try TinyModel.fixture(architecture)
        let sequence = try #require(fixture.sequences.max { $0.tokens.count < $1.tokens.count })
        try fixture.withFile { path in
            let file = try GGUFFile(path: path)
            let correct = try ModelConfig(gguf: file)
            var variants: [ModelConfig] = []
            var swapped = correct
            swapped.ropeStyle = correct.ropeStyle == .halves ? .adjacentPairs : .halves
            variants.append(swapped)
            if correct.attentionBias {
                var unbiased = correct
                unbiased.attentionBias = false
                variants.append(unbiased)
            }
            if correct.slidingWindow != nil {
                var global = correct
                global.slidingWindow = nil
                var oneBase = correct
                oneBase.slidingRopeBase = correct.ropeBase
                variants += [global, oneBase]
            }
            for config in variants {
                let model = Model(config: config, weights: try ModelWeights(gguf: file, config: config),
                                  tokenizer: try Tokenizer(gguf: file), chatTemplate: .failure(.unknownTemplate("none")),
                                  name: "variant")
                let rows = sequence.tokens.enumerated().map {
                    Batch.Row(token: $1, position: $0, sequence: 0, wantsLogits: true)
                }
                let logits = try Self.context(model).decode(Batch(rows: rows, blockTables: [(0..<16).map { Int32($0) }]))
                let miss = Self.difference(logits, sequence.logits)
                let variant = "rope \(config.ropeStyle), bias \(config.attentionBias), window \(config.slidingWindow ?? 0), "
                    + "sliding base \(config.slidingRopeBase)"
                print("\(architecture) with \(variant): max |logit - reference| \(miss)")
                #expect(miss > 100 * Self.tolerance, "\(variant)")
            }
        }
    }

    /// A gemma3 file that sets the final logit soft-cap gets cap · tanh(logit / cap); one
    /// that sets what Scribe does not implement is refused, naming the key.
    @Test func gemma3SoftCapsLogitsAndRefusesWhatItDoesNotImplement() throws {
        let fixture = try TinyModel.fixture("gemma3")
        let sequence = fixture.sequences[1]
        let cap = 3.0
        var builder = fixture.gguf()
        builder.set("gemma3.final_logit_softcapping", .float32(Float(cap)))
        let path = FileManager.default.temporaryDirectory.path + "/scribe-tiny-gemma3-cap-\(UUID().uuidString).gguf"
        try builder.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try Model(path: path)
        #expect(model.config.logitSoftCap == Float(cap))
        let rows = sequence.tokens.enumerated().map { Batch.Row(token: $1, position: $0, sequence: 0, wantsLogits: true) }
        let logits = try Self.context(model).decode(Batch(rows: rows, blockTables: [(0..<16).map { Int32($0) }]))
        let capped = sequence.logits.map { $0.map { cap * tanh($0 / cap) } }
        #expect(Self.difference(logits, capped) < Self.tolerance)
        #expect(Self.difference(logits, sequence.logits) > 0.1, "the cap changed nothing")

        for (key, value) in [("gemma3.attn_logit_softcapping", GGUFBuilder.Value.float32(50)),
                             ("gemma3.rope.scaling.type", .string("linear"))] {
            var refused = fixture.gguf()
            refused.set(key, value)
            let refusedPath = FileManager.default.temporaryDirectory.path + "/scribe-tiny-gemma3-\(UUID().uuidString).gguf"
            try refused.write(to: refusedPath)
            defer { try? FileManager.default.removeItem(atPath: refusedPath) }
            #expect { try Model(path: refusedPath) } throws: { "\($0)".contains(key) }
        }
    }

    /// The tokenizer written into the tiny file works: merges apply, the end-of-text token is special.
    @Test func tinyVocabularyTokenizes() throws {
        let model = try TinyModel.fixture("qwen2").load()
        let ids = model.tokenizer.encode(" the<|endoftext|>", parseSpecial: true, addSpecial: false)
        #expect(ids == [258, 271])
    }
}
