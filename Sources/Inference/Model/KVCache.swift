/// Keys and values of cached positions for every layer, in fixed-size blocks that any
/// sequence can use: a sequence's block table maps its positions to blocks (paged attention).
/// Which blocks belong to whom is the engine's business; this is only the storage.
public final class KVCache: @unchecked Sendable {
    /// Positions per block.
    public let blockSize: Int
    public let blockCount: Int
    let layerCount: Int
    /// Width of one position's keys (and values): kvHeads · headSize.
    let kvSize: Int
    private let keys: FloatBuffer  // (layer, blockCount · blockSize, kvSize)
    private let values: FloatBuffer  // (layer, blockCount · blockSize, kvSize)

    public init(config: ModelConfig, blockSize: Int = 16, blockCount: Int) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        layerCount = config.layerCount
        kvSize = config.kvSize
        let count = config.layerCount * blockCount * blockSize * config.kvSize
        keys = FloatBuffer(count: count)
        values = FloatBuffer(count: count)
    }

    /// Bytes one cached position takes over all layers (keys and values).
    public static func bytesPerPosition(_ config: ModelConfig) -> Int {
        2 * config.layerCount * config.kvSize * MemoryLayout<Float>.stride
    }

    public var byteCount: Int { (keys.count + values.count) * MemoryLayout<Float>.stride }

    @inline(__always)
    func keys(layer: Int) -> UnsafeMutablePointer<Float> {
        keys.pointer + layer * blockCount * blockSize * kvSize
    }

    @inline(__always)
    func values(layer: Int) -> UnsafeMutablePointer<Float> {
        values.pointer + layer * blockCount * blockSize * kvSize
    }

    /// Copies the first `positions` positions of block `source` into block `destination`
    /// in every layer (copy-on-write of a shared block).
    public func copyBlock(_ source: Int, to destination: Int, positions: Int) {
        let count = positions * kvSize
        for layer in 0..<layerCount {
            let stride = blockSize * kvSize
            (keys(layer: layer) + destination * stride).update(from: keys(layer: layer) + source * stride, count: count)
            (values(layer: layer) + destination * stride).update(from: values(layer: layer) + source * stride, count: count)
        }
    }
}
