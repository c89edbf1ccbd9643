
import PanelFormat

/// A weight matrix W (n, k), one row per output feature, stored the way the weight product
/// reads it.
public struct WeightMatrix: @unchecked Sendable {
    /// How a model's product weights are kept: what `--weights` chooses.
    public enum Layout: String, Sendable, CaseIterable {
        /// Panels of 16 features, k-major (see `PanelKernel`): packed once at load, read by
        /// the panel kernel, batch-invariant by construction.
        case panels
        /// Row-major, read by OpenBLAS, which packs it again on every call: kept to compare
        /// with (`scribe bench --products`).
        case rowMajor = "row-major"
        /// Quantized matrices kept quantized and multiplied in integers by activations
        /// quantized to 8 bits, as llama.cpp computes them: 4-bit formats (Q4_0, Q4_1, Q4_K)
        /// in `NibblePanelKernel`'s panels, 5-, 6- and 8-bit ones (Q5_0, Q5_1, Q5_K, Q6_K,
        /// Q8_0) in `BytePanelKernel`'s; a model loaded this way keeps its other matrices
        /// in `.panels`.
        case nibblePanels = "nibble-panels"
    }

    /// How this matrix is stored.
    enum Packing {
        case panels, rowMajor, nibblePanels, bytePanels
    }

    public let rows: Int  // n
    public let columns: Int  // k
    let packing: Packing
    /// Integer panels' scales are f16: every one of the matrix is an f16 value exactly.
    let halfScales: Bool
    /// rowMajor: (n, k); panels: (⌈n/16⌉, k, 16); nibblePanels and bytePanels: ⌈n/16⌉
    /// panels of k/32 records (see `NibblePanelFormat`, `BytePanelFormat`).
    let storage: FloatBuffer
    var pointer: UnsafeMutablePointer<Float> { storage.pointer }

    /// The layout this matrix belongs to.
    public var layout: Layout {
        switch packing {
        case .panels: .panels
        case .rowMajor: .rowMajor
        case .nibblePanels, .bytePanels: .nibblePanels
        }
    }

    /// `matrix` itself when row-major; a packed copy in f32 panels otherwise.
    init(_ matrix: Matrix, layout: Layout) {
        rows = matrix.rows
        columns = matrix.columns
        halfScales = false
        switch layout {
        case .rowMajor:
            packing = .rowMajor
            storage = matrix.storage
        case .panels, .nibblePanels:
            packing = .panels
            let width = PanelKernel.width
            storage = FloatBuffer(count: (rows + width - 1) / width * width * columns)
            for row in 0..<rows {
                let source = matrix.row(row)
                let target = storage.pointer + (row / width) * width * columns + row % width
                for column in 0..<columns { target[column * width] = source[column] }
            }
        }
    }

    /// Whether tensors of these types can stay quantized: `init(integerParts:columns:)`.
    static func holdsInteger(_ types: [GGMLType]) -> Bool {
        types.allSatisfy { NibbleBlocks.supports($0) || ByteBlocks.supports($0) }
    }

    /// Quantized tensors one below the other, packed as nibble panels when all are 4-bit,
    /// as byte panels otherwise (`holdsInteger` must hold); throws when a tensor's data is
    /// shorter than its rows.
    init(integerParts parts: [(type: GGMLType, data: UnsafeRawBufferPointer, rows: Int)], columns: Int) throws {
        rows = parts.reduce(0) { $0 + $1.rows }
        self.columns = columns
        let nibbles = parts.allSatisfy { NibbleBlocks.supports($0.type) }
        packing = nibbles ? .nibblePanels : .bytePanels
        for part in parts {
            let rowBytes = columns / part.type.blockSize * part.type.blockBytes
            guard part.data.baseAddress != nil, part.data.count >= part.rows * rowBytes else {
                throw DequantizationError(type: part.type, reason:
                    "\(part.rows) rows need \(part.rows * rowBytes) bytes, the tensor holds \(part.data.count)")
            }
        }
        /// Calls `body(row, block, codes, scales)` for every block; 4-bit blocks come as their
        /// codes 0...15 with one scale (see `ByteBlocks`).
        func eachBlock(_ body: (Int, Int, UnsafePointer<Int8>, (dLow: Float, dHigh: Float, m: Float)) -> Void) {
            withUnsafeTemporaryAllocation(of: Int8.self, capacity: 32) { codes in
                var row = 0
                for part in parts {
                    let rowBytes = columns / part.type.blockSize * part.type.blockBytes
                    for partRow in 0..<part.rows {
                        for block in 0..<columns / 32 {
                            let scales = ByteBlocks.block(part.type, row: part.data.baseAddress! + partRow * rowBytes,
                                                          index: block, codes: codes.baseAddress!)
                            body(row, block, codes.baseAddress!, scales)
                        }
                        row += 1
                    }
                }
            }
        }
        // Scales are stored as f16 when every one is an f16 value: a first pass finds out.
        func isHalf(_ x: Float) -> Bool { Float(Float16(x)).bitPattern == x.bitPattern }
        var half = true
        eachBlock { _, _, _, scales in half = half && isHalf(scales.dLow) && isHalf(scales.dHigh) && isHalf(scales.m) }
        let halfScales = half
        self.halfScales = halfScales
        let width = NibblePanelFormat.width
        let panelBytes = nibbles ? NibblePanelFormat.panelBytes(k: columns, halfScales: halfScales)
            : BytePanelFormat.panelBytes(k: columns, halfScales: halfScales)
        storage = FloatBuffer(count: (rows + width - 1) / width * panelBytes / 4)
        let panels = UnsafeMutableRawPointer(storage.pointer)
        eachBlock { row, block, codes, scales in
            let panel = panels + row / width * panelBytes
            if nibbles {
                NibblePanelKernel.pack(panel: panel, feature: row % width, block: block,
                                       codes: UnsafeRawPointer(codes).assumingMemoryBound(to: UInt8.self),
                                       d: scales.dLow, m: scales.m, halfScales: halfScales)
            } else {
                BytePanelKernel.pack(panel: panel, feature: row % width, block: block, codes: codes,
                                     dLow: scales.dLow, dHigh: scales.dHigh, m: scales.m, halfScales: halfScales)
            }
        }
    }

    /// Sustained GFLOP/s of Scribe's weight kernel on `threads` threads, the shape of
    /// `BLAS.measureGFLOPS` (64 batch rows through a 576→1536 projection): f32 panels when
    /// `type` is nil, else integer panels of `type` (Q4_1 or Q8_0) with `kernels`, counting
    /// the multiply-adds of the f32 product they stand for.
    public static func measureGFLOPS(
        type: GGMLType? = nil, kernels: KernelSet = .current, m: Int = 64, n: Int = 1536, k: Int = 576,
        threads: Int, seconds: Double = 1
    ) -> Double {
        let weights: WeightMatrix
        if let type {
            precondition(type == .q4_1 || type == .q8_0, "measured formats: Q4_1 and Q8_0")
            // d = 0.01 and m = -0.05 (as f16), codes cycling through the format's range.
            var bytes: [UInt8] = []
            for block in 0..<n * k / 32 {
                if type == .q4_1 {
                    bytes += [0x1f, 0x21, 0x66, 0xaa] + (0..<16).map { UInt8(truncatingIfNeeded: block &+ $0 * 17) }
                } else {
                    bytes += [0x1f, 0x21] + (0..<32).map { UInt8(truncatingIfNeeded: block &+ $0 * 37) }
                }
            }
            weights = bytes.withUnsafeBytes { data in try! WeightMatrix(integerParts: [(type, data, n)], columns: k) }
        } else {
            let matrix = Matrix(rows: n, columns: k)
            for i in 0..<n * k { matrix.pointer[i] = 0.5 }
            weights = WeightMatrix(matrix, layout: .panels)
        }
        let x = FloatBuffer(count: m * k), y = FloatBuffer(count: m * n)
        for i in 0..<m * k { x.pointer[i] = Float(i % 13) * 0.01 - 0.05 }
        let product = WeightProduct(layout: nil, kernels: kernels, threads: threads, maxN: n, maxRows: m, maxK: k)
        return BLAS.sustainedGFLOPS(flopsPerCall: 2.0 * Double(m * n * k), seconds: seconds) {
            product(rows: m, x: x.pointer, weights: weights, into: y.pointer)
        }
    }

    /// out (k) ← row `index` of W: an embedding lookup.
    func copyRow(_ index: Int, into out: UnsafeMutablePointer<Float>) {
        switch packing {
        case .rowMajor:
            out.update(from: pointer + index * columns, count: columns)
        case .panels:
            let width = PanelKernel.width
            let source = pointer + (index / width) * width * columns + index % width
            for column in 0..<columns { out[column] = source[column * width] }
        case .nibblePanels:
            let panel = UnsafeRawPointer(pointer)
                + index / NibblePanelFormat.width * NibblePanelFormat.panelBytes(k: columns, halfScales: halfScales)
            for column in 0..<columns {
                out[column] = NibblePanelKernel.weight(panel: panel, feature: index % NibblePanelFormat.width, element: column,
                                                       halfScales: halfScales)
            }
        case .bytePanels:
            let panel = UnsafeRawPointer(pointer)
                + index / BytePanelFormat.width * BytePanelFormat.panelBytes(k: columns, halfScales: halfScales)
            for column in 0..<columns {
                out[column] = BytePanelKernel.weight(panel: panel, feature: index % BytePanelFormat.width, element: column,
                                                     halfScales: halfScales)
            }
        }
    }
}
