@testable import Inference
import Testing

/// The integer weight kernel: its activation quantizer and micro-kernel against their plain
/// versions bit for bit, the 4-bit block decoder against the dequantizer, batch invariance,
/// and the whole product against the exact one within the bound activation rounding allows.
@Suite struct NibblePanelKernelTests {
    /// Random Q4_1 weights (n, k): the raw blocks, and the same weights as codes, d and m.
    struct Weights {
        var raw: [UInt8] = []
        var codes: [UInt8] = []  // (n, k)
        var d: [Float] = []  // (n, k / 32)
        var m: [Float] = []

        init(n: Int, k: Int, seed: UInt64) {
            var random = SplitMix64(seed: seed)
            for _ in 0..<n {
                var rowCodes = [UInt8](repeating: 0, count: k)
                for block in 0..<k / 32 {
                    let d = Float16(0.002 + 0.02 * abs(random.nextSignedUnitFloat()))
                    let m = Float16(-8 * Float(d) + 0.01 * random.nextSignedUnitFloat())
                    raw += withUnsafeBytes(of: d.bitPattern.littleEndian, Array.init)
                    raw += withUnsafeBytes(of: m.bitPattern.littleEndian, Array.init)
                    for e in 0..<32 { rowCodes[block * 32 + e] = UInt8(random.next() % 16) }
                    for j in 0..<16 { raw.append(rowCodes[block * 32 + j] | rowCodes[block * 32 + j + 16] << 4) }
                    self.d.append(Float(d))
                    self.m.append(Float(m))
                }
                codes += rowCodes
            }
        }

        func matrix(rows n: Int, columns k: Int) throws -> WeightMatrix {
            try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(.q4_1, $0, n)], columns: k) }
        }
    }

    static func activations(rows: Int, k: Int, seed: UInt64) -> FloatBuffer {
        var random = SplitMix64(seed: seed)
        let x = FloatBuffer(count: rows * k)
        for i in 0..<rows * k { x.pointer[i] = random.nextSignedUnitFloat() * Float(1 + i % 7) }
        return x
    }

    @Test func quantizedActivationsEqualThePlainVersionBitForBit() {
        let k = 256, rows = 3
        let x = Self.activations(rows: rows, k: k, seed: 7)
        // A zero block, a block with one huge value, and exact halves that round to even.
        for e in 0..<32 { x.pointer[32 + e] = 0 }
        x.pointer[64] = 3e30
        for e in 0..<32 { x.pointer[96 + e] = Float(e - 16) + 0.5 }
        x.pointer[96] = -127
        let quantized = QuantizedActivations(maxRows: rows, maxColumns: k)
        quantized.quantize(rows: rows, k: k, x: x.pointer, pool: ThreadPool(threads: 2))
        for block in 0..<rows * k / 32 {
            let expected = QuantizedActivations.referenceBlock(x.pointer + block * 32)
            #expect(Array(UnsafeBufferPointer(start: quantized.codes + block * 32, count: 32)) == expected.codes,
                    "block \(block)")
            #expect(quantized.scales[block].bitPattern == expected.scale.bitPattern, "block \(block)")
            #expect(quantized.sums[block].bitPattern == expected.sum.bitPattern, "block \(block)")
        }
        // Halves round to even: 12.5 → 12 with scale 1 (max |x| = 127).
        #expect(quantized.codes[96 + 28] == 12 && quantized.codes[96 + 29] == 14)
        // Offset codes (for the VNNI byte tile) are q + 128 as unsigned bytes; scales and sums unchanged.
        let offset = QuantizedActivations(maxRows: rows, maxColumns: k)
        offset.quantize(rows: rows, k: k, x: x.pointer, offsetCodes: true, pool: ThreadPool(threads: 2))
        for i in 0..<rows * k {
            #expect(Int(UInt8(bitPattern: offset.codes[i])) == Int(quantized.codes[i]) + 128, "element \(i)")
        }
        for block in 0..<rows * k / 32 {
            #expect(offset.scales[block].bitPattern == quantized.scales[block].bitPattern)
            #expect(offset.sums[block].bitPattern == quantized.sums[block].bitPattern)
        }
    }

    /// Codes with d and m rebuild exactly the values the dequantizer gives, for every format
    /// the kernel takes, and so does an embedding lookup from 4-bit panels. (Q4_0's
    /// `d·q − 8d` can give +0 where `d·(q − 8)` gives −0, and NaN where it gives ±∞ for the
    /// fixture's infinite scales: equal values, not equal bits.)
    @Test(arguments: ["Q4_0", "Q4_1", "Q4_K"])
    func blocksRebuildTheDequantizedValues(name: String) throws {
        let (type, raw, expected) = try DequantizerTests.Fixture.load(name)
        #expect(NibbleBlocks.supports(type))
        let codes = UnsafeMutablePointer<UInt8>.allocate(capacity: 32)
        defer { codes.deallocate() }
        func same(_ a: [UInt32], _ b: some Collection<UInt32>) -> Bool {
            zip(a, b).allSatisfy { a, b in
                let x = Float(bitPattern: a), y = Float(bitPattern: b)
                return a == b || (type == .q4_0 && (x == y || (!x.isFinite && !y.isFinite)))
            } && a.count == b.count
        }
        var rebuilt: [UInt32] = []
        raw.withUnsafeBytes { data in
            for block in 0..<expected.count / 32 {
                let (d, m) = NibbleBlocks.block(type, row: data.baseAddress!, index: block, codes: codes)
                rebuilt += (0..<32).map { (d * Float(codes[$0]) + m).bitPattern }
            }
        }
        #expect(same(rebuilt, expected))
        // The fixture as a matrix of rows of 256, through the panels and back.
        let columns = 256, rows = expected.count / columns
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(type, $0, rows)], columns: columns) }
        var row = [Float](repeating: .nan, count: columns)
        for index in 0..<rows {
            row.withUnsafeMutableBufferPointer { matrix.copyRow(index, into: $0.baseAddress!) }
            #expect(same(row.map(\.bitPattern), expected[index * columns..<(index + 1) * columns]), "row \(index)")
        }
    }

    /// Every kernel set against the plain version, bit for bit: rows around the 4-row tile
    /// and the one-row path, partial panels, one block and several.
    @Test(arguments: KernelSet.allCases, [(8, 32), (13, 64), (37, 96), (3, 160), (9, 1536)])
    func kernelEqualsItsPlainVersionBitForBit(kernels: KernelSet, shape: (n: Int, k: Int)) throws {
        try kernels.requireHere()
        let weights = Weights(n: shape.n, k: shape.k, seed: UInt64(shape.n * 31 + shape.k))
        let matrix = try weights.matrix(rows: shape.n, columns: shape.k)
        for rows in [1, 2, 3, 4, 5, 7, 8, 13, 40] {
            let x = Self.activations(rows: rows, k: shape.k, seed: UInt64(rows))
            let quantized = QuantizedActivations(maxRows: rows, maxColumns: shape.k)
            quantized.quantize(rows: rows, k: shape.k, x: x.pointer, pool: ThreadPool(threads: 1))
            for accumulate in [false, true] {
                let y = Self.activations(rows: rows, k: shape.n, seed: 99), expected = FloatBuffer(count: rows * shape.n)
                expected.pointer.update(from: y.pointer, count: rows * shape.n)
                NibblePanelKernel.reference(
                    rows: rows, n: shape.n, k: shape.k, codes: quantized.codes, scales: quantized.scales,
                    sums: quantized.sums, weights: weights.codes, d: weights.d, m: weights.m,
                    into: expected.pointer, accumulate: accumulate)
                let product = WeightProduct(layout: nil, kernels: kernels, threads: 2, maxN: shape.n, maxRows: rows,
                                            maxK: shape.k)
                product(rows: rows, x: x.pointer, weights: matrix, into: y.pointer, accumulate: accumulate)
                #expect(WeightProductTests.bits(y) == WeightProductTests.bits(expected),
                        "rows \(rows), \(shape), accumulate \(accumulate)")
            }
        }
    }

    /// Q4_K's scales (d · scale, dmin · min) are not f16 values: its panels keep f32 scales,
    /// Q4_1's f16 ones, and every kernel set equals the plain version on both.
    @Test(arguments: KernelSet.allCases)
    func f32AndF16ScalesEqualThePlainVersionBitForBit(kernels: KernelSet) throws {
        try kernels.requireHere()
        let (n, k, rows) = (21, 512, 6)
        let raw = RandomBlocks.make(.q4_K, elements: n * k, seed: 9)
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(.q4_K, $0, n)], columns: k) }
        #expect(matrix.packing == .nibblePanels && !matrix.halfScales)
        #expect(try Weights(n: 3, k: 64, seed: 1).matrix(rows: 3, columns: 64).halfScales)
        var codes = [UInt8](repeating: 0, count: n * k), d: [Float] = [], m: [Float] = []
        raw.withUnsafeBytes { data in
            for row in 0..<n {
                for block in 0..<k / 32 {
                    let scales = codes.withUnsafeMutableBufferPointer {
                        NibbleBlocks.block(.q4_K, row: data.baseAddress! + row * k / 256 * 144, index: block,
                                           codes: $0.baseAddress! + row * k + block * 32)
                    }
                    d.append(scales.d); m.append(scales.m)
                }
            }
        }
        let x = Self.activations(rows: rows, k: k, seed: 10)
        let quantized = QuantizedActivations(maxRows: rows, maxColumns: k)
        quantized.quantize(rows: rows, k: k, x: x.pointer, pool: ThreadPool(threads: 1))
        let y = FloatBuffer(count: rows * n), expected = FloatBuffer(count: rows * n)
        NibblePanelKernel.reference(rows: rows, n: n, k: k, codes: quantized.codes, scales: quantized.scales,
                                    sums: quantized.sums, weights: codes, d: d, m: m, into: expected.pointer, accumulate: false)
        WeightProduct(layout: nil, kernels: kernels, threads: 2, maxN: n, maxRows: rows, maxK: k)(
            rows: rows, x: x.pointer, weights: matrix, into: y.pointer)
        #expect(WeightProductTests.bits(y) == WeightProductTests.bits(expected))
    }

    /// A row gets the same bits alone and at any place in any batch up to 40 rows.
    @Test func aRowsBitsDoNotDependOnTheBatch() throws {
        let (n, k, pool) = (50, 96, 40)
        let matrix = try Weights(n: n, k: k, seed: 3).matrix(rows: n, columns: k)
        let moved = WeightProductTests.batchSizesWhereARowMoves(matrix, x: Self.activations(rows: pool, k: k, seed: 4), pool: pool)
        #expect(moved.isEmpty, "batch sizes where a row moved: \(moved)")
    }

    /// Against x · Wᵀ in f64 with the exact weights (`errorAgainstTheBound`): the bound
    /// holds, and the error is not zero (the test would notice an f32 product standing in
    /// for the integer one).
    @Test func staysWithinTheBoundActivationRoundingAllows() throws {
        let (rows, n, k) = (9, 37, 192)
        let weights = Weights(n: n, k: k, seed: 11)
        let exact = (0..<n * k).map { i in
            Double(weights.d[i / 32]) * Double(weights.codes[i]) + Double(weights.m[i / 32])
        }
        let (worstRatio, largestError) = try Self.errorAgainstTheBound(
            weights.matrix(rows: n, columns: k), exactWeights: exact, rows: rows)
        #expect(worstRatio <= 1, "error / bound reached \(worstRatio)")
        #expect(largestError > 1e-6)
    }

    /// The product of `rows` random activation rows with `matrix` against x · Wᵀ in f64 with
    /// `exactWeights` (n, k): the worst error / bound, where rounding an activation moves it
    /// by at most half its block's scale, so each output may move by
    /// Σ_b scale_b / 2 · Σ_{e in b} |W[f, e]| plus f32 rounding; and the largest error.
    static func errorAgainstTheBound(_ matrix: WeightMatrix, exactWeights: [Double], rows: Int) -> (Double, Double) {
        let (n, k) = (matrix.rows, matrix.columns)
        let x = Self.activations(rows: rows, k: k, seed: 12)
        let y = FloatBuffer(count: rows * n)
        WeightProduct(layout: nil, threads: 2, maxN: n, maxRows: rows, maxK: k)(rows: rows, x: x.pointer, weights: matrix, into: y.pointer)
        var worstRatio = 0.0, largestError = 0.0
        for row in 0..<rows {
            for feature in 0..<n {
                var exact = 0.0, bound = 1e-5
                for block in 0..<k / 32 {
                    var largest: Float = 0, weightSum = 0.0
                    for e in 0..<32 {
                        let i = block * 32 + e, w = exactWeights[feature * k + i]
                        exact += w * Double(x.pointer[row * k + i])
                        weightSum += abs(w)
                        largest = max(largest, abs(x.pointer[row * k + i]))
                    }
                    bound += Double(largest / 127) / 2 * weightSum * 1.0001
                }
                let error = abs(Double(y.pointer[row * n + feature]) - exact)
                worstRatio = max(worstRatio, error / bound)
                largestError = max(largestError, error)
            }
        }
        return (worstRatio, largestError)
    }
}
