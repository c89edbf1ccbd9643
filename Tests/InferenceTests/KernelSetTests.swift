import Foundation
@testable import Inference
import Testing
import TestSupport

/// Kernel sets chosen at run time: what `SCRIBE_KERNELS` may ask, and the same logits from
/// every set the CPU runs, on a tiny model of every legacy format and on the reference model.
@Suite struct KernelSetTests {
    @Test func theEnvironmentChoosesASetTheCPURuns() throws {
        #expect(try KernelSet.selected(environment: [:]) == KernelSet.best)
        #expect(try KernelSet.selected(environment: ["SCRIBE_KERNELS": ""]) == KernelSet.best)
        #expect(try KernelSet.selected(environment: ["SCRIBE_KERNELS": "avx2"]) == .avx2)
        #expect(throws: KernelSetError.self) { try KernelSet.selected(environment: ["SCRIBE_KERNELS": "avx1024"]) }
        do {
            _ = try KernelSet.selected(environment: ["SCRIBE_KERNELS": "sse"])
        } catch {
            #expect("\(error)" == "SCRIBE_KERNELS=sse is not a kernel set; use one of avx2, avx512, avx512-vnni")
        }
        for set in KernelSet.allCases where !KernelSet.supported.contains(set) {
            #expect(throws: KernelSetError.self) { try KernelSet.selected(environment: ["SCRIBE_KERNELS": set.rawValue]) }
        }
    }

    @Test func setsNeedTheirFlags() {
        let zen3: Set = ["avx2", "fma", "f16c", "avx", "sse4_2"]
        let skylakeX = zen3.union(["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512cd"])
        #expect(KernelSet.allCases.filter { $0.runs(on: zen3) } == [.avx2])
        #expect(KernelSet.allCases.filter { $0.runs(on: skylakeX) } == [.avx2, .avx512])
        #expect(KernelSet.allCases.filter { $0.runs(on: skylakeX.union(["avx512_vnni"])) } == KernelSet.allCases)
        #expect(KernelSet.best == KernelSet.supported.last && KernelSet.supported.contains(.avx2))
    }

    /// The tiny llama with its matrices in Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 (random blocks): the
    /// stacked q/k/v and gate/up mix 4- and 5-bit parts (byte panels), the output projection
    /// stays 4-bit (nibble panels), the tied head is Q8_0.
    static func quantizedTinyModel() throws -> Model {
        let tiny = try TinyModel.fixture("llama")
        let f32 = tiny.gguf()
        var builder = GGUFBuilder()
        for (key, value) in f32.metadata { builder.set(key, value) }
        let types: [String: GGMLType] = [
            "attn_q": .q4_0, "attn_k": .q4_1, "attn_v": .q5_0, "attn_output": .q4_1,
            "ffn_gate": .q5_1, "ffn_up": .q8_0, "ffn_down": .q8_0, "token_embd": .q8_0,
        ]
        for (index, tensor) in f32.tensors.enumerated() {
            let kind = types.first { tensor.name.contains($0.key) }?.value
            if let kind, tensor.shape.count == 2 {
                let data = RandomBlocks.make(kind, elements: tensor.shape.reduce(1, *), seed: UInt64(index + 1))
                builder.addTensor(name: tensor.name, shape: tensor.shape, type: kind, data: data)
            } else {
                builder.addRawTensor(name: tensor.name, shape: tensor.shape, typeCode: tensor.typeCode, data: tensor.data)
            }
        }
        let path = FileManager.default.temporaryDirectory.path + "/scribe-tiny-quantized-\(UUID().uuidString).gguf"
        try builder.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Model(path: path)
    }

    /// Logits of a mixed batch (two prompts at once, then a step of each) through a fresh
    /// context with `kernels`.
    static func logits(_ model: Model, kernels: KernelSet, prompts: [[TokenID]]) throws -> [UInt32] {
        let cache = KVCache(config: model.config, blockSize: 16, blockCount: 8 * prompts.count,
                            precision: model.weights.cachePrecision)
        let context = InferenceContext(model: model, cache: cache, maxRows: 256, kernels: kernels)
        let tables = prompts.indices.map { s in (0..<Int32(8)).map { Int32(s * 8) + $0 } }
        var rows: [Batch.Row] = []
        for (s, prompt) in prompts.enumerated() {
            rows += prompt.enumerated().map { .init(token: $1, position: $0, sequence: s, wantsLogits: true) }
        }
        var bits: [UInt32] = []
        let first = try context.decode(Batch(rows: rows, blockTables: tables))
        for r in 0..<first.count { bits += first.row(r).map(\.bitPattern) }
        let steps = prompts.enumerated().map { Batch.Row(token: 7, position: $1.count, sequence: $0, wantsLogits: true) }
        let second = try context.decode(Batch(rows: steps, blockTables: tables))
        for r in 0..<second.count { bits += second.row(r).map(\.bitPattern) }
        return bits
    }

    @Test(arguments: KernelSet.allCases)
    func aTinyModelInEveryLegacyFormatGivesAVX2sBits(kernels: KernelSet) throws {
        try kernels.requireHere()
        let model = try Self.quantizedTinyModel()
        let packings = model.weights.layers[0]
        #expect(packings.qkv.packing == .bytePanels && packings.gateUp.packing == .bytePanels)
        #expect(packings.attentionOutput.packing == .nibblePanels && model.weights.output.packing == .bytePanels)
        let prompts: [[TokenID]] = [Array(1...11), [200, 3, 90, 17, 5]]
        let expected = try Self.logits(model, kernels: .avx2, prompts: prompts)
        #expect(expected.contains { Float(bitPattern: $0) != 0 } && expected.allSatisfy { Float(bitPattern: $0).isFinite })
        #expect(try Self.logits(model, kernels: kernels, prompts: prompts) == expected)
    }

    @Test(.enabled(if: Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)"),
          arguments: KernelSet.allCases)
    func theReferenceModelGivesAVX2sBits(kernels: KernelSet) throws {
        try kernels.requireHere()
        let model = try #require(ReferenceModelTests.nibbleModel)
        #expect(model.weights.output.packing == .bytePanels && model.weights.layers[0].qkv.packing == .nibblePanels)
        let cases = try ReferenceData.greedy()
        let prompts = cases.prefix(3).map(\.prompt_ids)
        #expect(try Self.logits(model, kernels: kernels, prompts: prompts) == Self.logits(model, kernels: .avx2, prompts: prompts))
    }
}
