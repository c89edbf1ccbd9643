import Inference

/// Scratch memory for sampling one row at a time, allocated once per vocabulary.
///
/// Owned by whoever runs the sampling loop (one per thread), not by each sequence: the
/// buffers are ~600 KB for a 49,152-token vocabulary and a sequence only needs them while
/// its token is drawn. `~Copyable`, so it has exactly one owner and frees its memory once.
public struct SamplingWorkspace: ~Copyable, @unchecked Sendable {
    // @unchecked: plain buffers reachable only through this unique owner.
    public let vocabularySize: Int
    let ids: UnsafeMutableBufferPointer<TokenID>  // (vocab) candidate ids once not implicit
    let scratch: UnsafeMutableBufferPointer<Float>  // (vocab) exps, heaps: any stage's temporary
    let raw: UnsafeMutableBufferPointer<Float>  // (vocab) copy of the unprocessed row for logprobs
    let blockSums: UnsafeMutableBufferPointer<Float>  // (vocab / VectorMath.blockSize, rounded up)

    public init(vocabularySize: Int) {
        precondition(vocabularySize > 0, "vocabulary size must be positive")
        self.vocabularySize = vocabularySize
        ids = .allocate(capacity: vocabularySize)
        scratch = .allocate(capacity: vocabularySize)
        raw = .allocate(capacity: vocabularySize)
        blockSums = .allocate(capacity: (vocabularySize + VectorMath.blockSize - 1) / VectorMath.blockSize)
    }

    deinit {
        ids.deallocate()
        scratch.deallocate()
        raw.deallocate()
        blockSums.deallocate()
    }
}
