#if canImport(Glibc)
import Glibc
#endif

/// Why a forward call was refused. The engine builds batches, so these mean a bug there,
/// but a worker reports them instead of crashing.
public struct InferenceError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Logits of the rows that asked for them, in row order: (count, vocab). Valid until the
/// context's next `decode`.
public struct Logits {
    public let count: Int
    public let vocabularySize: Int
    /// Keeps the buffer alive when the context itself is released first.
    let storage: FloatBuffer
    var base: UnsafeMutablePointer<Float> { storage.pointer }

    public func row(_ index: Int) -> UnsafeMutableBufferPointer<Float> {
        precondition(index >= 0 && index < count)
        return UnsafeMutableBufferPointer(start: base + index * vocabularySize, count: vocabularySize)
    }
}

/// Activation buffers for up to `maxRows` rows, allocated once (llama2.c's `RunState`).
final class RunState {
    let x: FloatBuffer  // (maxRows, d) residual stream
    let xn: FloatBuffer  // (maxRows, d) normalized
    let qkv: FloatBuffer  // (maxRows, nh·hs + 2·nkv·hs)
    let attention: FloatBuffer  // (maxRows, nh·hs)
    let gateUp: FloatBuffer  // (maxRows, 2·ff)
    let hidden: FloatBuffer  // (maxRows, ff)
    let logits: FloatBuffer  // (maxRows, vocab)
    let scores: FloatBuffer  // (threads, nh · contextLength)
    let slots: UnsafeMutablePointer<Int>  // (threads, contextLength): cache offsets of positions

    /// Product inputs (xn, attention, hidden) get `marginRows` rows of slack on each side.
    init(config: ModelConfig, maxRows: Int, threads: Int, marginRows: Int) {
        let qkvSize = config.querySize + 2 * config.kvSize
        x = FloatBuffer(count: maxRows * config.embeddingSize)
        xn = FloatBuffer(count: maxRows * config.embeddingSize, margin: marginRows * config.embeddingSize)
        qkv = FloatBuffer(count: maxRows * qkvSize)
        attention = FloatBuffer(count: maxRows * config.querySize, margin: marginRows * config.querySize)
        gateUp = FloatBuffer(count: maxRows * 2 * config.feedForwardSize)
        hidden = FloatBuffer(count: maxRows * config.feedForwardSize, margin: marginRows * config.feedForwardSize)
        logits = FloatBuffer(count: maxRows * config.vocabularySize)
        scores = FloatBuffer(count: threads * config.headCount * config.contextLength)
        slots = .allocate(capacity: threads * config.contextLength)
    }

    deinit { slots.deallocate() }
}

/// Runs the llama forward pass for batches of rows from many sequences over one KV cache
/// (llama.cpp's context: `decode(batch)` is the one entry point). One per worker thread;
/// the model's weights are shared.
public final class InferenceContext {
    public let model: Model
    public let cache: KVCache
    public let maxRows: Int
    private let rope: RoPE
    /// The sliding-window layers' RoPE, when their base differs.
    private let slidingRope: RoPE
    private let state: RunState
    private let pool: ThreadPool
    private let product: WeightProduct

    /// - Parameters:
    ///   - threads: threads for the weight products and attention. OpenBLAS itself is set to
    ///     one thread for the whole process: its spinning workers would compete with these.
    ///   - batchInvariant: for row-major weights, cut and pad every OpenBLAS product so that
    ///     a row's results never depend on the rest of the batch (see `ProductLayout`).
    ///     Weights in panels are batch-invariant whatever this says.
    ///   - kernels: the integer micro-kernels; every set gives the same bits.
    public init(model: Model, cache: KVCache, maxRows: Int = 512, threads: Int = 2,
                batchInvariant: Bool = true, kernels: KernelSet = .current) {
        self.model = model
        self.cache = cache
        self.maxRows = maxRows
        pool = ThreadPool(threads: threads)
        let config = model.config
        rope = RoPE(dimensions: config.ropeDimensions, base: config.ropeBase, style: config.ropeStyle,
                    maxPositions: config.contextLength)
        slidingRope = config.slidingWindow == nil || config.slidingRopeBase == config.ropeBase ? rope
            : RoPE(dimensions: config.ropeDimensions, base: config.slidingRopeBase, style: config.ropeStyle,
                   maxPositions: config.contextLength)
        BLAS.setThreadCount(1)
        let layout: ProductLayout? = switch model.weights.layout {
        case .panels, .nibblePanels: nil
        case .rowMajor: batchInvariant
            ? ProductLayout.invariant(innerDimensions: [config.embeddingSize, config.querySize, config.feedForwardSize])
            : ProductLayout.unpadded(chunk: maxRows)
        }
        state = RunState(config: config, maxRows: maxRows, threads: pool.threads, marginRows: layout?.marginRows ?? 0)
        let widest = max(config.querySize + 2 * config.kvSize, 2 * config.feedForwardSize, config.vocabularySize)
        product = WeightProduct(layout: layout, kernels: kernels, pool: pool, maxN: widest, maxRows: maxRows,
                                maxK: max(config.embeddingSize, config.querySize, config.feedForwardSize))
    }

    /// Computes the batch: appends every row's key and value to the cache and returns the
    /// logits of the rows that want them.
    public func decode(_ batch: Batch) throws -> Logits {
        try validate(batch)
        let vocabulary = model.config.vocabularySize
        var logitRow = 0
        var start = 0
        while start < batch.rows.count {
            let end = min(start + maxRows, batch.rows.count)
            let wanted = try forward(batch, rows: start..<end)
            // Chunks past the first keep their logits after the earlier ones.
            if logitRow > 0 && !wanted.isEmpty {
                (state.logits.pointer + logitRow * vocabulary)
                    .update(from: state.logits.pointer, count: wanted.count * vocabulary)
            }
            precondition(logitRow + wanted.count <= maxRows || wanted.isEmpty,
                         "more logit rows than the context holds")
            logitRow += wanted.count
            start = end
        }
        return Logits(count: logitRow, vocabularySize: vocabulary, storage: state.logits)
    }

    private func validate(_ batch: Batch) throws {
        let config = model.config
        guard batch.logitRowCount <= maxRows else {
            throw InferenceError(description: "batch asks for \(batch.logitRowCount) logit rows; the context holds \(maxRows)")
        }
        for (index, row) in batch.rows.enumerated() {
            guard row.token >= 0, Int(row.token) < config.vocabularySize else {
                throw InferenceError(description: "row \(index): token \(row.token) outside the vocabulary of \(config.vocabularySize)")
            }
            guard row.position >= 0, row.position < config.contextLength else {
                throw InferenceError(description: "row \(index): position \(row.position) outside the context length \(config.contextLength)")
            }
            guard row.sequence >= 0, row.sequence < batch.blockTables.count else {
                throw InferenceError(description: "row \(index): no block table for sequence \(row.sequence)")
            }
            let table = batch.blockTables[row.sequence]
            guard row.position / cache.blockSize < table.count else {
                throw InferenceError(description: "row \(index): position \(row.position) beyond its \(table.count) cache blocks")
            }
            for block in table[0...(row.position / cache.blockSize)] where block < 0 || Int(block) >= cache.blockCount {
                throw InferenceError(description: "row \(index): cache block \(block) outside 0..<\(cache.blockCount)")
            }
        }
    }

    /// One chunk of at most `maxRows` rows; returns the rows whose logits were computed
    /// (into the start of the logits buffer).
    private func forward(_ batch: Batch, rows range: Range<Int>) throws -> [Int] {
        let config = model.config
        let weights = model.weights
        let rows = range.count
        let d = config.embeddingSize
        let x = state.x.pointer, xn = state.xn.pointer

        for (r, row) in batch.rows[range].enumerated() {
            weights.tokenEmbedding.copyRow(Int(row.token), into: x + r * d)
            if let scale = config.embeddingScale {
                for i in 0..<d { x[r * d + i] *= scale }
            }
        }
        for (layerIndex, layer) in weights.layers.enumerated() {
            // Attention block: x += attention(norm(x)) · Woᵀ, the sum normalized first in gemma.
            normalize(x, weight: layer.attentionNorm, into: xn, rows: rows)
            product(rows: rows, x: xn, weights: layer.qkv, into: state.qkv.pointer)
            storeKeysAndValues(batch, range: range, layer: layer, layerIndex: layerIndex)
            attend(batch, range: range, layerIndex: layerIndex)
            addToResidual(rows: rows, x: state.attention.pointer, weights: layer.attentionOutput, norm: layer.postAttentionNorm)
            // Feed-forward block: x += (act(xn·Wgᵀ) · xn·Wuᵀ) · Wdᵀ, likewise.
            normalize(x, weight: layer.feedForwardNorm, into: xn, rows: rows)
            product(rows: rows, x: xn, weights: layer.gateUp, into: state.gateUp.pointer)
            let ff = config.feedForwardSize, gateUp = state.gateUp.pointer, hidden = state.hidden.pointer
            let activation = config.activation
            pool.slices(rows) { part in
                GatedLinearUnit.apply(activation, gateUp + part.lowerBound * 2 * ff, into: hidden + part.lowerBound * ff,
                                      rows: part.count, n: ff)
            }
            addToResidual(rows: rows, x: state.hidden.pointer, weights: layer.down, norm: layer.postFeedForwardNorm)
        }
        // Output head, only for the rows that want logits.
        var wanted: [Int] = []
        for (r, row) in batch.rows[range].enumerated() where row.wantsLogits {
            RMSNorm.apply(x + r * d, weight: weights.outputNorm.pointer, into: xn + wanted.count * d,
                          rows: 1, n: d, epsilon: config.normEpsilon)
            wanted.append(range.lowerBound + r)
        }
        if !wanted.isEmpty {
            product(rows: wanted.count, x: xn, weights: weights.output, into: state.logits.pointer)
            if let cap = config.logitSoftCap {
                let logits = state.logits.pointer, vocabulary = config.vocabularySize
                pool.slices(wanted.count) { part in
                    for i in (part.lowerBound * vocabulary)..<(part.upperBound * vocabulary) {
                        logits[i] = cap * tanh(logits[i] / cap)
                    }
                }
            }
        }
        return wanted
    }

    /// x (rows, d) += input · weightsᵀ, or += RMSNorm(input · weightsᵀ) when the block's
    /// output is normalized (gemma). The normalized input `xn` is free by then, so it holds
    /// the block's output.
    private func addToResidual(rows: Int, x input: UnsafeMutablePointer<Float>, weights: WeightMatrix, norm: Matrix?) {
        let x = state.x.pointer
        guard let norm else {
            product(rows: rows, x: input, weights: weights, into: x, accumulate: true)
            return
        }
        let d = model.config.embeddingSize, xn = state.xn.pointer
        product(rows: rows, x: input, weights: weights, into: xn)
        normalize(xn, weight: norm, into: xn, rows: rows)
        pool.slices(rows) { part in
            Vector.addScaled(xn + part.lowerBound * d, 1, into: x + part.lowerBound * d, part.count * d)
        }
    }

    /// xn (rows, d) ← RMSNorm of x (rows, d), rows split between the threads.
    private func normalize(_ x: UnsafeMutablePointer<Float>, weight: Matrix, into xn: UnsafeMutablePointer<Float>, rows: Int) {
        let d = model.config.embeddingSize, epsilon = model.config.normEpsilon
        pool.slices(rows) { part in
            RMSNorm.apply(x + part.lowerBound * d, weight: weight.pointer, into: xn + part.lowerBound * d,
                          rows: part.count, n: d, epsilon: epsilon)
        }
    }

    /// Adds biases, normalizes q and k heads (gemma), rotates q and k, and writes each row's
    /// k and v into its cache slot; rows split between the threads (each writes only its own
    /// slots).
    private func storeKeysAndValues(_ batch: Batch, range: Range<Int>, layer: LayerWeights, layerIndex: Int) {
        let config = model.config
        let qkvSize = config.querySize + 2 * config.kvSize
        let keys = cache.keys(layer: layerIndex), values = cache.values(layer: layerIndex)
        let rope = config.slides(layer: layerIndex) ? slidingRope : rope
        pool.slices(range.count) { part in
            for r in part {
                let row = batch.rows[range.lowerBound + r]
                let qkv = state.qkv.pointer + r * qkvSize
                if let bias = layer.qkvBias {
                    for i in 0..<qkvSize { qkv[i] += bias.pointer[i] }
                }
                let query = qkv, key = qkv + config.querySize, value = key + config.kvSize
                if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
                    RMSNorm.apply(query, weight: queryNorm.pointer, into: query, rows: config.headCount, n: config.headSize,
                                  epsilon: config.normEpsilon)
                    RMSNorm.apply(key, weight: keyNorm.pointer, into: key, rows: config.kvHeadCount, n: config.headSize,
                                  epsilon: config.normEpsilon)
                }
                rope.rotate(query, heads: config.headCount, headSize: config.headSize, position: row.position)
                rope.rotate(key, heads: config.kvHeadCount, headSize: config.headSize, position: row.position)
                let table = batch.blockTables[row.sequence]
                let slot = Int(table[row.position / cache.blockSize]) * cache.blockSize + row.position % cache.blockSize
                cache.store(key, into: keys, slot: slot)
                cache.store(value, into: values, slot: slot)
            }
        }
    }

    /// Attention for every row, rows spread over `threads` threads.
    private func attend(_ batch: Batch, range: Range<Int>, layerIndex: Int) {
        let job = AttentionJob(
            config: model.config, window: model.config.slides(layer: layerIndex) ? model.config.slidingWindow : nil,
            rows: Array(batch.rows[range]), blockTables: batch.blockTables,
            blockSize: cache.blockSize, keys: cache.keys(layer: layerIndex), values: cache.values(layer: layerIndex),
            precision: cache.precision,
            qkv: state.qkv.pointer, output: state.attention.pointer, scores: state.scores.pointer,
            slots: state.slots, threads: min(pool.threads, range.count))
        if job.threads <= 1 {
            job.run(thread: 0)
        } else {
            pool.run { thread in if thread < job.threads { job.run(thread: thread) } }
        }
    }
}

/// One layer's attention over a chunk of rows; each thread takes every `threads`-th row and
/// writes only that row's output and its own scores scratch.
private struct AttentionJob: @unchecked Sendable {
    let config: ModelConfig
    /// Positions a row attends in a sliding-window layer; nil: all before it.
    let window: Int?
    let rows: [Batch.Row]
    let blockTables: [[Int32]]
    let blockSize: Int
    let keys: UnsafeMutableRawPointer  // (slots, kvSize) of this layer
    let values: UnsafeMutableRawPointer  // (slots, kvSize) of this layer
    let precision: KVCache.Precision
    let qkv: UnsafeMutablePointer<Float>  // (rows, nh·hs + 2·nkv·hs)
    let output: UnsafeMutablePointer<Float>  // (rows, nh·hs)
    let scores: UnsafeMutablePointer<Float>  // (threads, nh · contextLength)
    let slots: UnsafeMutablePointer<Int>  // (threads, contextLength)
    let threads: Int

    func run(thread: Int) {
        let qkvSize = config.querySize + 2 * config.kvSize
        let scoresPerThread = config.headCount * config.contextLength
        var r = thread
        while r < rows.count {
            let row = rows[r]
            blockTables[row.sequence].withUnsafeBufferPointer { table in
                let context = Attention.Context(
                    length: row.position + 1, start: window.map { max(0, row.position + 1 - $0) } ?? 0,
                    blockTable: table.baseAddress!, blockSize: blockSize,
                    keys: keys, values: values, precision: precision)
                Attention.attend(
                    query: qkv + r * qkvSize, context: context, heads: config.headCount,
                    kvHeads: config.kvHeadCount, headSize: config.headSize, scale: config.attentionScale,
                    scores: scores + thread * scoresPerThread, slots: slots + thread * config.contextLength,
                    output: output + r * config.querySize)
            }
            r += threads
        }
    }
}
