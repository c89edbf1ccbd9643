@testable import Inference
import Testing

/// Valid random GGUF blocks of every quantized type the integer kernels take: random code
/// bytes (so Q8_0 has −128 and Q6_K's int8 scales reach both ends) with f16 scales in a sane
/// range, so products stay finite.
enum RandomBlocks {
    /// Raw bytes of `elements` values of `type` (a multiple of its block size).
    static func make(_ type: GGMLType, elements: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        func half(_ low: Float, _ high: Float) -> [UInt8] {
            let value = Float16(low + (high - low) * abs(random.nextSignedUnitFloat()))
            return withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init)
        }
        func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) } }
        var raw: [UInt8] = []
        for _ in 0..<elements / type.blockSize {
            switch type {
            case .q4_0: raw += half(0.002, 0.02) + bytes(16)
            case .q4_1: raw += half(0.002, 0.02) + half(-0.15, 0) + bytes(16)
            case .q5_0: raw += half(0.001, 0.01) + bytes(20)
            case .q5_1: raw += half(0.001, 0.01) + half(-0.15, 0) + bytes(20)
            case .q8_0: raw += half(0.0001, 0.001) + bytes(32)
            case .q4_K: raw += half(0.0001, 0.001) + half(0.0001, 0.002) + bytes(140)
            case .q5_K: raw += half(0.0001, 0.0005) + half(0.0001, 0.002) + bytes(172)
            case .q6_K: raw += bytes(208) + half(0.00001, 0.0001)
            default: preconditionFailure("\(type) has no integer kernel")
            }
        }
        precondition(raw.count == elements / type.blockSize * type.blockBytes)
        return raw
    }

    /// The weights of raw rows (n, k) of `type` as the byte kernel's reference takes them.
    static func byteWeights(_ type: GGMLType, raw: [UInt8], n: Int, k: Int)
        -> (codes: [Int8], dLow: [Float], dHigh: [Float], m: [Float]) {
        var codes = [Int8](repeating: 0, count: n * k), dLow: [Float] = [], dHigh: [Float] = [], m: [Float] = []
        let rowBytes = k / type.blockSize * type.blockBytes
        raw.withUnsafeBytes { data in
            codes.withUnsafeMutableBufferPointer { codes in
                for row in 0..<n {
                    for block in 0..<k / 32 {
                        let scales = ByteBlocks.block(type, row: data.baseAddress! + row * rowBytes, index: block,
                                                      codes: codes.baseAddress! + row * k + block * 32)
                        dLow.append(scales.dLow); dHigh.append(scales.dHigh); m.append(scales.m)
                    }
                }
            }
        }
        return (codes, dLow, dHigh, m)
    }
}

extension KernelSet {
    /// Cancels the running test case, with the reason, when this CPU cannot run the set.
    func requireHere() throws {
        guard runs(on: CPUFlags.current) else {
            try Test.cancel("this CPU lacks \(requiredFlags.subtracting(CPUFlags.current).sorted().joined(separator: ", "))")
        }
    }
}
