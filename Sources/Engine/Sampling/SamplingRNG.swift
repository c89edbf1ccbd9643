/// xoshiro256** seeded through SplitMix64: the random stream of one sequence.
///
/// Each sequence owns one, and a token's draw reads only that sequence's state, so a
/// seeded request samples the same tokens alone or in any batch (the engine's batch
/// invariance relies on this). Exactly one `next()` per sampled (non-greedy) token.
public struct SamplingRNG: RandomNumberGenerator, Sendable, Equatable {
    private var s0, s1, s2, s3: UInt64
    /// The seed this stream started from (random when the request had none), for reproduction.
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        // SplitMix64 spreads any seed (0, 1, 2, …) over the full state; never all-zero.
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The stream for completion `index` of a request: `seed + index` as in vLLM, so the n
    /// completions differ and each equals a single-completion request with that seed.
    /// Without a seed, a random one.
    public init(seed: UInt64?, completionIndex: Int = 0) {
        if let seed {
            self.init(seed: seed &+ UInt64(completionIndex))
        } else {
            var system = SystemRandomNumberGenerator()
            self.init(seed: system.next())
        }
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}
