/// One call of an integer micro-kernel: up to 4 rows of quantized activations times one
/// 16-feature panel of `NibblePanelFormat` or `BytePanelFormat` records. Every kernel set
/// (AVX2, AVX-512, AVX-512 VNNI) takes this same description, so the driver loop and the
/// panels are shared and only the tile differs.
public struct PanelTile {
    /// Rows in this call, 1...4.
    public var rows: Int
    /// Blocks of 32 elements along k.
    public var blocks: Int
    /// Row 0's activation codes; row r's start `r · blocks · 32` further on. Signed, or
    /// q + 128 for a tile that takes them offset (`KernelSet.byteTileTakesOffsetCodes`).
    public var codes: UnsafePointer<Int8>  // (rows, k)
    /// Row 0's per-block activation scales and scaled code sums; row stride `blocks`.
    public var scales: UnsafePointer<Float>  // (rows, blocks)
    public var sums: UnsafePointer<Float>  // (rows, blocks)
    /// The panel's first record.
    public var panel: UnsafeRawPointer
    /// Row 0's first output of this panel; row stride `n`.
    public var y: UnsafeMutablePointer<Float>  // (rows, n)
    public var n: Int
    /// Output features this panel stores, 1...16 (fewer only in the last panel).
    public var columns: Int
    /// Add to y instead of overwriting it.
    public var accumulate: Bool
    /// The records' scales are f16 (see `NibblePanelFormat`, `BytePanelFormat`).
    public var halfScales: Bool

    @inlinable
    public init(
        rows: Int, blocks: Int, codes: UnsafePointer<Int8>, scales: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        panel: UnsafeRawPointer, y: UnsafeMutablePointer<Float>, n: Int, columns: Int, accumulate: Bool,
        halfScales: Bool
    ) {
        self.rows = rows
        self.blocks = blocks
        self.codes = codes
        self.scales = scales
        self.sums = sums
        self.panel = panel
        self.y = y
        self.n = n
        self.columns = columns
        self.accumulate = accumulate
        self.halfScales = halfScales
    }

    /// Row `r`'s activation codes at element `offset`, 4 bytes as one 32-bit word.
    @inlinable @inline(__always)
    public func codeWord(row r: Int, offset: Int) -> Int32 {
        UnsafeRawPointer(codes).loadUnaligned(fromByteOffset: r * blocks * 32 + offset, as: Int32.self)
    }

    /// Row `r`'s activation scale and scaled code sum of block `block`.
    @inlinable @inline(__always)
    public func scale(row r: Int, block: Int) -> Float { scales[r * blocks + block] }
    @inlinable @inline(__always)
    public func sum(row r: Int, block: Int) -> Float { sums[r * blocks + block] }

    /// Stores (or adds) `count` ≤ 16 outputs of row `r` from `values`, starting at feature `first`.
    @inlinable @inline(__always)
    public func store(row r: Int, first: Int, count: Int, _ values: UnsafePointer<Float>) {
        let out = y + r * n + first
        for c in 0..<count { out[c] = accumulate ? out[c] + values[c] : values[c] }
    }
}

/// A micro-kernel of one kernel set.
public typealias PanelTileKernel = (PanelTile) -> Void
