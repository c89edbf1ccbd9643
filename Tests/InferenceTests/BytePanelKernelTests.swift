@testable import Inference
import Testing

/// The 8-bit integer kernel: its block decoder against the dequantizer, every kernel set
/// against the plain version bit for bit, batch invariance, and the product against the
/// exact one within the bound activation rounding allows.
@Suite struct BytePanelKernelTests {
    static let types: [GGMLType] = [.q8_0, .q5_0, .q5_1, .q5_K, .q6_K]

    /// Codes with their scales and offset rebuild the values the dequantizer gives, for every
    /// format (and through the panels, as an embedding lookup reads them). Values, not bits:
    /// `d·q + 0` is +0 where `d·q` is −0, and the fixtures' infinite scales give NaN for ∞.
    @Test(arguments: ["Q8_0", "Q5_0", "Q5_1", "Q5_K", "Q6_K", "Q4_0", "Q4_1", "Q4_K"])
    func blocksRebuildTheDequantizedValues(name: String) throws {
        let (type, raw, expected) = try DequantizerTests.Fixture.load(name)
        #expect(ByteBlocks.supports(type) != NibbleBlocks.supports(type))
        func same(_ a: [Float], _ b: some Collection<UInt32>) -> Bool {
            a.count == b.count && zip(a, b).allSatisfy { x, bits in
                let y = Float(bitPattern: bits)
                return x == y || (!x.isFinite && !y.isFinite)
            }
        }
        var rebuilt: [Float] = []
        var codes = [Int8](repeating: 0, count: 32)
        raw.withUnsafeBytes { data in
            for block in 0..<expected.count / 32 {
                let (dLow, dHigh, m) = codes.withUnsafeMutableBufferPointer {
                    ByteBlocks.block(type, row: data.baseAddress!, index: block, codes: $0.baseAddress!)
                }
                rebuilt += (0..<32).map { (($0 < 16 ? dLow : dHigh) * Float(codes[$0]) + m) }
            }
        }
        #expect(same(rebuilt, expected))
        guard ByteBlocks.supports(type) else { return }
        let columns = 256, rows = expected.count / columns
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(type, $0, rows)], columns: columns) }
        #expect(matrix.packing == .bytePanels)
        var row = [Float](repeating: .nan, count: columns)
        for index in 0..<rows {
            row.withUnsafeMutableBufferPointer { matrix.copyRow(index, into: $0.baseAddress!) }
            #expect(same(row, expected[index * columns..<(index + 1) * columns]), "row \(index)")
        }
    }

    /// Every kernel set against the plain version, bit for bit: rows around the 4-row tile
    /// and the one-row path, partial panels, each format.
    @Test(arguments: KernelSet.allCases, [(GGMLType.q8_0, 8, 64), (.q6_K, 37, 512), (.q5_K, 17, 256), (.q5_0, 3, 96),
                                          (.q5_1, 16, 160)])
    func kernelEqualsItsPlainVersionBitForBit(kernels: KernelSet, shape: (type: GGMLType, n: Int, k: Int)) throws {
        try kernels.requireHere()
        let (type, n, k) = shape
        let raw = RandomBlocks.make(type, elements: n * k, seed: UInt64(n * 131 + k))
        let weights = RandomBlocks.byteWeights(type, raw: raw, n: n, k: k)
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(type, $0, n)], columns: k) }
        // Q8_0, Q5_0 and Q5_1 scales are f16 values and stored so; the k-quants' are not.
        #expect(matrix.halfScales == [.q8_0, .q5_0, .q5_1].contains(type))
        for rows in [1, 2, 3, 4, 5, 13, 40] {
            let x = NibblePanelKernelTests.activations(rows: rows, k: k, seed: UInt64(rows))
            let quantized = QuantizedActivations(maxRows: rows, maxColumns: k)
            quantized.quantize(rows: rows, k: k, x: x.pointer, pool: ThreadPool(threads: 1))
            for accumulate in [false, true] {
                let y = NibblePanelKernelTests.activations(rows: rows, k: n, seed: 99), expected = FloatBuffer(count: rows * n)
                expected.pointer.update(from: y.pointer, count: rows * n)
                BytePanelKernel.reference(
                    rows: rows, n: n, k: k, codes: quantized.codes, scales: quantized.scales, sums: quantized.sums,
                    weights: weights.codes, dLow: weights.dLow, dHigh: weights.dHigh, m: weights.m,
                    into: expected.pointer, accumulate: accumulate)
                let product = WeightProduct(layout: nil, kernels: kernels, threads: 2, maxN: n, maxRows: rows, maxK: k)
                product(rows: rows, x: x.pointer, weights: matrix, into: y.pointer, accumulate: accumulate)
                #expect(WeightProductTests.bits(y) == WeightProductTests.bits(expected),
                        "\(type) rows \(rows), accumulate \(accumulate)")
            }
        }
    }

    /// A 4-bit part stacked with a 6-bit one (Q4_K_M files stack Q4_K q with Q6_K v) goes
    /// to byte panels whole and rebuilds both parts' values.
    @Test func aFourBitPartStackedWithASixBitOneIsPackedAsBytes() throws {
        let k = 256
        let q4 = RandomBlocks.make(.q4_K, elements: 5 * k, seed: 1), q6 = RandomBlocks.make(.q6_K, elements: 3 * k, seed: 2)
        let matrix = try q4.withUnsafeBytes { a in
            try q6.withUnsafeBytes { b in try WeightMatrix(integerParts: [(.q4_K, a, 5), (.q6_K, b, 3)], columns: k) }
        }
        #expect(matrix.packing == .bytePanels && matrix.rows == 8)
        let expected = try DequantizerTests.dequantize(.q4_K, q4, count: 5 * k) + DequantizerTests.dequantize(.q6_K, q6, count: 3 * k)
        var row = [Float](repeating: .nan, count: k)
        for index in 0..<8 {
            row.withUnsafeMutableBufferPointer { matrix.copyRow(index, into: $0.baseAddress!) }
            #expect(row == Array(expected[index * k..<(index + 1) * k]), "row \(index)")
        }
    }

    /// A row gets the same bits alone and at any place in any batch up to 40 rows.
    @Test func aRowsBitsDoNotDependOnTheBatch() throws {
        let (n, k, pool) = (50, 256, 40)
        let raw = RandomBlocks.make(.q6_K, elements: n * k, seed: 5)
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(.q6_K, $0, n)], columns: k) }
        let x = NibblePanelKernelTests.activations(rows: pool, k: k, seed: 4)
        let moved = WeightProductTests.batchSizesWhereARowMoves(matrix, x: x, pool: pool)
        #expect(moved.isEmpty, "batch sizes where a row moved: \(moved)")
    }

    /// Against x · Wᵀ in f64 with the exact weights (`NibblePanelKernelTests.errorAgainstTheBound`):
    /// the bound holds and the error is not zero.
    @Test(arguments: [GGMLType.q8_0, .q6_K])
    func staysWithinTheBoundActivationRoundingAllows(type: GGMLType) throws {
        let (n, k) = (37, 256)
        let raw = RandomBlocks.make(type, elements: n * k, seed: 11)
        let matrix = try raw.withUnsafeBytes { try WeightMatrix(integerParts: [(type, $0, n)], columns: k) }
        let exact = try DequantizerTests.dequantize(type, raw, count: n * k).map(Double.init)
        let (worstRatio, largestError) = NibblePanelKernelTests.errorAgainstTheBound(matrix, exactWeights: exact, rows: 9)
        #expect(worstRatio <= 1, "error / bound reached \(worstRatio)")
        #expect(largestError > 1e-7)
    }
}
