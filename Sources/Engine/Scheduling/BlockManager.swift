import Inference

/// Which KV-cache blocks each sequence uses, with prefix reuse: full blocks are found again
/// by a hash of their tokens and of everything before them, shared copy-on-write, and kept
/// in an LRU pool after their sequences end until the space is needed. Pure bookkeeping, no
/// I/O; the engine copies block contents when told to (`copies`).
public struct BlockManager: Sendable {
    public let blockSize: Int
    public let blockCount: Int

    private struct Block: Sendable {
        var references = 0
        /// Set while the block is full and registered for reuse.
        var key: PrefixKey?
        /// When it was last released, for LRU eviction among unreferenced blocks.
        var releasedAt = 0
    }

    /// Identity of a full block: the hash chain up to it, plus its own tokens to rule out collisions.
    struct PrefixKey: Hashable, Sendable {
        var chain: UInt64
        var tokens: [TokenID]
    }

    private var blocks: [Block]
    /// Unreferenced blocks with no key, ready to use.
    private var empty: [Int32]
    /// Unreferenced blocks with a key, evictable, keyed by release time (oldest first).
    private var cachedFree: [Int: Int32] = [:]
    /// Release order of `cachedFree`, oldest first from `cachedFreeHead`; entries whose block
    /// was taken back are skipped when met.
    private var cachedFreeOrder: [(Int, Int32)] = []
    private var cachedFreeHead = 0
    private var index: [PrefixKey: Int32] = [:]
    private var clock = 0

    /// Block contents the engine must copy before the next forward call: (from, to, positions).
    public private(set) var copies: [(source: Int32, destination: Int32, positions: Int)] = []

    public init(blockSize: Int, blockCount: Int) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        blocks = Array(repeating: Block(), count: blockCount)
        empty = (0..<Int32(blockCount)).reversed()
    }

    /// Blocks that can be handed out now (empty ones plus evictable cached ones).
    public var freeBlocks: Int { empty.count + cachedFree.count }
    public var usedBlocks: Int { blockCount - freeBlocks }
    /// Blocks held only by the prefix pool.
    public var cachedBlocks: Int { cachedFree.count }

    public func blocksNeeded(forPositions count: Int) -> Int {
        (count + blockSize - 1) / blockSize
    }

    // MARK: - Prefix reuse

    /// The hash chain values of the full blocks of `tokens` (one per full block).
    public func chain(_ tokens: [TokenID]) -> [UInt64] {
        var result: [UInt64] = []
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for start in stride(from: 0, to: tokens.count - blockSize + 1, by: blockSize) {
            for token in tokens[start..<start + blockSize] {
                // FNV-1a over the token's four bytes, continuing the previous blocks' hash.
                var value = UInt32(bitPattern: token)
                for _ in 0..<4 {
                    hash = (hash ^ UInt64(value & 0xFF)) &* 0x100_0000_01b3
                    value >>= 8
                }
            }
            result.append(hash)
        }
        return result
    }

    /// The cached blocks holding the longest prefix of `tokens` made of full blocks (at most `limit`).
    public func cachedPrefix(_ tokens: [TokenID], limit: Int) -> [Int32] {
        let chain = chain(tokens)
        var found: [Int32] = []
        while found.count < min(limit, chain.count) {
            let i = found.count
            let key = PrefixKey(chain: chain[i], tokens: Array(tokens[i * blockSize..<(i + 1) * blockSize]))
            guard let block = index[key] else { break }
            found.append(block)
        }
        return found
    }

    /// Registers full block number `blockIndex` of a sequence holding `tokens` for reuse.
    public mutating func register(_ block: Int32, tokens: [TokenID], blockIndex: Int) {
        guard blocks[Int(block)].key == nil, (blockIndex + 1) * blockSize <= tokens.count else { return }
        let chainValue = chain(Array(tokens[0..<(blockIndex + 1) * blockSize])).last!
        let key = PrefixKey(chain: chainValue, tokens: Array(tokens[blockIndex * blockSize..<(blockIndex + 1) * blockSize]))
        guard index[key] == nil else { return }  // an identical block is already registered
        index[key] = block
        blocks[Int(block)].key = key
    }

    // MARK: - Allocation

    /// A fresh block with one reference, or nil when none is free. Evicts the least recently
    /// released cached block when no empty one is left.
    public mutating func allocate() -> Int32? {
        let block: Int32
        if let next = empty.popLast() {
            block = next
        } else if let oldest = takeOldestCached() {
            block = oldest
            if let key = blocks[Int(block)].key { index[key] = nil }
            blocks[Int(block)].key = nil
        } else {
            return nil
        }
        blocks[Int(block)].references = 1
        return block
    }

    public mutating func retain(_ block: Int32) {
        if blocks[Int(block)].references == 0, let releasedAt = cachedFreeKey(block) {
            cachedFree[releasedAt] = nil
        }
        blocks[Int(block)].references += 1
    }

    /// Drops one reference; an unreferenced block goes to the empty list, or to the LRU pool
    /// when it is registered for reuse.
    public mutating func release(_ block: Int32) {
        precondition(blocks[Int(block)].references > 0, "block \(block) released more often than taken")
        blocks[Int(block)].references -= 1
        guard blocks[Int(block)].references == 0 else { return }
        if blocks[Int(block)].key != nil {
            clock += 1
            blocks[Int(block)].releasedAt = clock
            cachedFree[clock] = block
            cachedFreeOrder.append((clock, block))
        } else {
            empty.append(block)
        }
    }

    public func references(_ block: Int32) -> Int { blocks[Int(block)].references }

    /// Before writing into `block` at `position` (0-based inside the block): if others share
    /// it, the caller gets a private copy (and a pending copy is recorded); nil when no block is free.
    public mutating func prepareForWrite(_ block: Int32, filledPositions: Int) -> Int32? {
        // Registered blocks are full and never written again, so only sharing matters.
        guard blocks[Int(block)].references > 1 else { return block }
        guard let copy = allocate() else { return nil }
        copies.append((block, copy, filledPositions))
        release(block)
        return copy
    }

    public mutating func takeCopies() -> [(source: Int32, destination: Int32, positions: Int)] {
        defer { copies = [] }
        return copies
    }

    private func cachedFreeKey(_ block: Int32) -> Int? {
        let releasedAt = blocks[Int(block)].releasedAt
        return cachedFree[releasedAt] == block ? releasedAt : nil
    }

    private mutating func takeOldestCached() -> Int32? {
        while cachedFreeHead < cachedFreeOrder.count {
            let (time, block) = cachedFreeOrder[cachedFreeHead]
            cachedFreeHead += 1
            if cachedFreeHead > 1024 && cachedFreeHead * 2 > cachedFreeOrder.count {
                cachedFreeOrder.removeFirst(cachedFreeHead)
                cachedFreeHead = 0
            }
            if cachedFree[time] == block {
                cachedFree[time] = nil
                return block
            }
        }
        return nil
    }
}
