import Engine
import Foundation
import Testing

@Suite struct SamplingRNGTests {
    @Test func knownXoshiroOutputForSeedZero() {
        // SplitMix64(0) state, then xoshiro256**: first values computed by the reference C code.
        var rng = SamplingRNG(seed: 0)
        #expect(rng.next() == 0x99EC_5F36_CB75_F2B4)
        #expect(rng.next() == 0xBF6E_1F78_4956_452A)
    }

    @Test func sameSeedSameStreamDifferentSeedDifferentStream() {
        var a = SamplingRNG(seed: 123), b = SamplingRNG(seed: 123), c = SamplingRNG(seed: 124)
        let sa = (0..<8).map { _ in a.next() }
        #expect(sa == (0..<8).map { _ in b.next() })
        #expect(sa != (0..<8).map { _ in c.next() })
    }

    @Test func completionIndexOffsetsTheSeed() {
        #expect(SamplingRNG(seed: 10, completionIndex: 3) == SamplingRNG(seed: 13))
        #expect(SamplingRNG(seed: UInt64.max, completionIndex: 1).seed == 0)
    }

    @Test func unitDrawsStayInRangeWithTheRightMean() {
        var rng = SamplingRNG(seed: 99)
        let draws = (0..<100_000).map { _ in rng.nextUnit() }
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - 0.5) < 0.005)
    }
}
