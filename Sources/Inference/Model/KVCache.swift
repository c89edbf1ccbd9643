/// Keys and values of cached positions for every layer, in fixed-size blocks that any
/// sequence can use: a sequence's block table maps its positions to blocks (paged attention).
/// Which blocks belong to whom is the engine's business; this is only the storage.
public final class KVCache: @unchecked Sendable {
    /// How cached keys and values are stored. Attention at 32+ sequences is bound by reading
    /// them, so half precision (as llama.cpp keeps them) makes it nearly twice as fast.
    public enum Precision: String, Sendable {
        /// Exact: results equal an fp32 forward pass.
        case f32
        case f16

        var bytes: Int { self == .f32 ? 4 : 2 }
    }

    /// Positions per block.
    public let blockSize: Int
    public let blockCount: Int
    public let precision: Precision
    let layerCount: Int
    /// Width of one position's keys (and values): kvHeads · headSize.
    let kvSize: Int
    private let keys: FloatBuffer  // (layer, blockCount · blockSize, kvSize) elements of `precision`
    private let values: FloatBuffer  // (layer, blockCount · blockSize, kvSize) elements of `precision`

    public init(config: ModelConfig, blockSize: Int = 16, blockCount: Int, precision: Precision = .f32) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.precision = precision
        layerCount = config.layerCount
        kvSize = config.kvSize
        let bytes = config.layerCount * blockCount * blockSize * config.kvSize * precision.bytes
        keys = FloatBuffer(count: bytes / 4)
        values = FloatBuffer(count: bytes / 4)
    }

    /// Bytes one cached position takes over all layers (keys and values).
    public static func bytesPerPosition(_ config: ModelConfig, precision: Precision = .f32) -> Int {
        2 * config.layerCount * config.kvSize * precision.bytes
    }

    public var byteCount: Int { (keys.count + values.count) * MemoryLayout<Float>.stride }

    private var layerBytes: Int { blockCount * blockSize * kvSize * precision.bytes }

    @inline(__always)
    func keys(layer: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(keys.pointer) + layer * layerBytes }

    @inline(__always)
    func values(layer: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(values.pointer) + layer * layerBytes }

    /// Stores kvSize floats at `slot` of `base` (a layer's keys or values), rounded to
    /// nearest even when the cache is in half precision.
    @inline(__always)
    func store(_ source: UnsafePointer<Float>, into base: UnsafeMutableRawPointer, slot: Int) {
        switch precision {
        case .f32:
            (base + slot * kvSize * 4).copyMemory(from: source, byteCount: kvSize * 4)
        case .f16:
            let target = base + slot * kvSize * 2, raw = UnsafeRawPointer(source)
            var i = 0
            while i < kvSize {  // kvSize is a multiple of 8 (head sizes are)
                let lanes = SIMD8<Float16>(raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self))
                target.storeBytes(of: lanes, toByteOffset: i * 2, as: SIMD8<Float16>.self)
                i += 8
            }
        }
    }

    /// Copies the first `positions` positions of block `source` into block `destination`
    /// in every layer (copy-on-write of a shared block).
    public func copyBlock(_ source: Int, to destination: Int, positions: Int) {
        let bytes = positions * kvSize * precision.bytes, stride = blockSize * kvSize * precision.bytes
        for layer in 0..<layerCount {
            (keys(layer: layer) + destination * stride).copyMemory(from: keys(layer: layer) + source * stride, byteCount: bytes)
            (values(layer: layer) + destination * stride).copyMemory(from: values(layer: layer) + source * stride, byteCount: bytes)
        }
    }
}
