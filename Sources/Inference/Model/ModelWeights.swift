#if canImport(Glibc)
import Glibc
#endif

/// Zero-filled f32 memory owned by the weights or a run state, page-aligned for BLAS and
/// SIMD. It comes straight from the kernel as untouched zero pages, so a large KV cache
/// costs resident memory only as positions are written.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>
    private let mapping: UnsafeMutableRawPointer
    private let mappedBytes: Int

    /// - Parameter margin: floats of zeroed slack before `pointer` and after its `count`
    ///   floats, for kernels that read a little outside their rows (see `ProductLayout`).
    public init(count: Int, margin: Int = 0) {
        self.count = count
        mappedBytes = max(count + 2 * margin, 1) * MemoryLayout<Float>.stride
        let raw = mmap(nil, mappedBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        precondition(raw != MAP_FAILED && raw != nil, "out of memory allocating \(count) floats")
        mapping = raw!
        pointer = mapping.bindMemory(to: Float.self, capacity: count + 2 * margin) + margin
    }

    deinit { munmap(mapping, mappedBytes) }
}

/// A row-major matrix view (rows, columns) into a `FloatBuffer`. A weight matrix has one row
/// per output feature, so `y = x · Wᵀ` is `sgemm(transposeB: true)`.
public struct Matrix: @unchecked Sendable {
    public let rows: Int
    public let columns: Int
    public let pointer: UnsafeMutablePointer<Float>
    let storage: FloatBuffer

    init(rows: Int, columns: Int) {
        storage = FloatBuffer(count: rows * columns)
        self.rows = rows
        self.columns = columns
        pointer = storage.pointer
    }

    func row(_ index: Int) -> UnsafeMutablePointer<Float> { pointer + index * columns }
}

/// One transformer block's weights, dequantized to f32.
struct LayerWeights: @unchecked Sendable {
    var attentionNorm: Matrix  // (1, d)
    /// q, k and v projections stacked so one product computes all three.
    var qkv: WeightMatrix  // (nh·hs + 2·nkv·hs, d)
    var qkvBias: Matrix?  // (1, nh·hs + 2·nkv·hs), qwen2 only
    /// RMSNorm weights of each q and k head, gemma only.
    var queryNorm: Matrix?  // (1, hs)
    var keyNorm: Matrix?  // (1, hs)
    var attentionOutput: WeightMatrix  // (d, nh·hs)
    /// RMSNorm of the attention block's output before the residual add, gemma only.
    var postAttentionNorm: Matrix?  // (1, d)
    var feedForwardNorm: Matrix  // (1, d)
    /// gate and up projections stacked: one product, then silu(gate) · up.
    var gateUp: WeightMatrix  // (2·ff, d)
    var down: WeightMatrix  // (d, ff)
    /// RMSNorm of the feed-forward block's output before the residual add, gemma only.
    var postFeedForwardNorm: Matrix?  // (1, d)
}

/// All weights of a model, dequantized to f32 once at load (llama2.c's `TransformerWeights`),
/// or for `.nibblePanels` quantized matrices repacked as they are.
/// Shared read-only by every sequence and every worker thread of the process.
public final class ModelWeights: @unchecked Sendable {
    let tokenEmbedding: WeightMatrix  // (vocab, d)
    let outputNorm: Matrix  // (1, d)
    /// The output head; the same storage as `tokenEmbedding` when the model ties them.
    let output: WeightMatrix  // (vocab, d)
    let layers: [LayerWeights]
    /// How the product weights are stored: every matrix in this layout, except that with
    /// `.nibblePanels` the matrices of types the integer kernels do not take are in `.panels`.
    public let layout: WeightMatrix.Layout

    init(tokenEmbedding: WeightMatrix, outputNorm: Matrix, output: WeightMatrix, layers: [LayerWeights],
         layout: WeightMatrix.Layout) {
        self.tokenEmbedding = tokenEmbedding
        self.outputNorm = outputNorm
        self.output = output
        self.layers = layers
        self.layout = layout
    }

    /// How a KV cache for these weights should store keys and values: f16 with integer
    /// products (whose results are not fp32-exact anyway, as llama.cpp's), f32 otherwise.
    public var cachePrecision: KVCache.Precision { layout == .nibblePanels ? .f16 : .f32 }

    /// Bytes of weight memory (tied matrices counted once).
    public var byteCount: Int {
        var buffers: [ObjectIdentifier: Int] = [:]
        func add(_ storage: FloatBuffer?) {
            guard let storage else { return }
            buffers[ObjectIdentifier(storage)] = storage.count * 4
        }
        add(tokenEmbedding.storage); add(outputNorm.storage); add(output.storage)
        for layer in layers {
            [layer.attentionNorm, layer.qkvBias, layer.queryNorm, layer.keyNorm, layer.postAttentionNorm,
             layer.feedForwardNorm, layer.postFeedForwardNorm].forEach { add($0?.storage) }
            [layer.qkv, layer.attentionOutput, layer.gateUp, layer.down].forEach { add($0.storage) }
        }
        return buffers.values.reduce(0, +)
    }

    /// Dequantizes every weight of `file` for `config` and stores the product weights in
    /// `layout`; a missing tensor or one of the wrong shape or an unsupported type is a
    /// `GGUFError` naming it.
    public convenience init(gguf file: GGUFFile, config: ModelConfig, layout: WeightMatrix.Layout = .nibblePanels) throws {
        let loader = WeightLoader(file: file, layout: layout)
        let d = config.embeddingSize
        let embedding = try loader.weights("token_embd.weight", rows: config.vocabularySize, columns: d)
        let output = file.tensor(named: "output.weight") == nil
            ? embedding
            : try loader.weights("output.weight", rows: config.vocabularySize, columns: d)
        var layers: [LayerWeights] = []
        for index in 0..<config.layerCount {
            let prefix = "blk.\(index)."
            let qkvParts = [("attn_q", config.querySize), ("attn_k", config.kvSize), ("attn_v", config.kvSize)]
            layers.append(LayerWeights(
                attentionNorm: try loader.matrix(prefix + "attn_norm.weight", rows: 1, columns: d),
                qkv: try loader.weights(qkvParts.map { (prefix + $0.0 + ".weight", $0.1) }, columns: d),
                qkvBias: config.attentionBias
                    ? try loader.concatenated(qkvParts.map { (prefix + $0.0 + ".bias", $0.1) }) : nil,
                queryNorm: config.headNorms
                    ? try loader.matrix(prefix + "attn_q_norm.weight", rows: 1, columns: config.headSize) : nil,
                keyNorm: config.headNorms
                    ? try loader.matrix(prefix + "attn_k_norm.weight", rows: 1, columns: config.headSize) : nil,
                attentionOutput: try loader.weights(prefix + "attn_output.weight", rows: d, columns: config.querySize),
                postAttentionNorm: config.outputNorms
                    ? try loader.matrix(prefix + "post_attention_norm.weight", rows: 1, columns: d) : nil,
                feedForwardNorm: try loader.matrix(prefix + "ffn_norm.weight", rows: 1, columns: d),
                gateUp: try loader.weights(
                    [(prefix + "ffn_gate.weight", config.feedForwardSize), (prefix + "ffn_up.weight", config.feedForwardSize)],
                    columns: d),
                down: try loader.weights(prefix + "ffn_down.weight", rows: d, columns: config.feedForwardSize),
                postFeedForwardNorm: config.outputNorms
                    ? try loader.matrix(prefix + "post_ffw_norm.weight", rows: 1, columns: d) : nil))
        }
        self.init(
            tokenEmbedding: embedding,
            outputNorm: try loader.matrix("output_norm.weight", rows: 1, columns: d),
            output: output, layers: layers, layout: layout)
    }
}

/// Turns GGUF tensors into f32 matrices, checking names, shapes and types.
private struct WeightLoader {
    let file: GGUFFile
    let layout: WeightMatrix.Layout

    func weights(_ name: String, rows: Int, columns: Int) throws -> WeightMatrix {
        try weights([(name, rows)], columns: columns)
    }

    func weights(_ parts: [(name: String, rows: Int)], columns: Int) throws -> WeightMatrix {
        guard layout == .nibblePanels else { return WeightMatrix(try stacked(parts, columns: columns), layout: layout) }
        let tensors = try parts.map { try tensor($0.name, rows: $0.rows, columns: columns) }
        guard WeightMatrix.holdsInteger(tensors.map(\.type)), columns % 32 == 0 else {
            return WeightMatrix(try stacked(parts, columns: columns), layout: .panels)
        }
        do {
            return try WeightMatrix(integerParts: tensors.map { ($0.type, file.data(of: $0), $0.rowCount) }, columns: columns)
        } catch {
            throw GGUFError(file: file.path, offset: tensors[0].infoOffset, reason: "tensor \(parts[0].name): \(error)")
        }
    }

    func tensor(_ name: String, rows: Int, columns: Int) throws -> GGUFTensorInfo {
        guard let tensor = file.tensor(named: name) else {
            throw GGUFError(file: file.path, offset: 0, reason: "missing tensor \(name)")
        }
        guard tensor.rowLength == columns, tensor.rowCount == rows else {
            throw GGUFError(file: file.path, offset: tensor.infoOffset, reason:
                "tensor \(name) has shape \(tensor.shape), expected [\(columns), \(rows)]")
        }
        guard Dequantizer.supports(tensor.type) else {
            throw GGUFError(file: file.path, offset: tensor.infoOffset, reason:
                "tensor \(name) has type \(tensor.type), which Scribe cannot dequantize")
        }
        return tensor
    }

    func matrix(_ name: String, rows: Int, columns: Int) throws -> Matrix {
        try stacked([(name, rows)], columns: columns)
    }

    /// Several tensors with the same row length, one below the other.
    func stacked(_ parts: [(name: String, rows: Int)], columns: Int) throws -> Matrix {
        let matrix = Matrix(rows: parts.reduce(0) { $0 + $1.rows }, columns: columns)
        var row = 0
        for part in parts {
            let tensor = try tensor(part.name, rows: part.rows, columns: columns)
            do {
                try Dequantizer.dequantize(tensor.type, file.data(of: tensor), count: tensor.elementCount,
                                           into: matrix.row(row))
            } catch {
                throw GGUFError(file: file.path, offset: tensor.infoOffset, reason: "tensor \(part.name): \(error)")
            }
            row += part.rows
        }
        return matrix
    }

    /// Vectors (1-D tensors) joined end to end into one row.
    func concatenated(_ parts: [(name: String, count: Int)]) throws -> Matrix {
        let matrix = Matrix(rows: 1, columns: parts.reduce(0) { $0 + $1.count })
        var offset = 0
        for part in parts {
            let tensor = try tensor(part.name, rows: 1, columns: part.count)
            try Dequantizer.dequantize(tensor.type, file.data(of: tensor), count: tensor.elementCount,
                                       into: matrix.pointer + offset)
            offset += part.count
        }
        return matrix
    }
}
