/// Merge ranks keyed by the pair of symbol ids, open addressing over two flat arrays: the BPE inner
/// loop asks "does (left, right) merge, at what rank, into what?" once per adjacent pair.
struct MergeTable: Sendable {
    struct Merge: Sendable, Equatable {
        var rank: Int32
        var result: Int32
    }

    private var keys: [UInt64]
    private var values: [Merge]
    private var shift: UInt64
    private(set) var count = 0
    private static let empty = UInt64.max

    init(minimumCapacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < minimumCapacity * 2 { bits += 1 }
        keys = Array(repeating: Self.empty, count: 1 << bits)
        values = Array(repeating: Merge(rank: 0, result: 0), count: 1 << bits)
        shift = 64 - bits
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Fibonacci hashing: ids are small and dense, so multiply to spread them over the table.
    @inline(__always)
    private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    func find(_ left: Int32, _ right: Int32) -> Merge? {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key { return values[i] }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }

    /// Keeps the first merge given for a pair, as llama.cpp's `bpe_ranks.emplace` does.
    mutating func insertIfAbsent(_ left: Int32, _ right: Int32, _ merge: Merge) {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        var i = slot(key)
        while keys[i] != Self.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        values[i] = merge
        count += 1
        if count * 2 > keys.count { grow() }
    }

    private mutating func grow() {
        let oldKeys = keys, oldValues = values
        keys = Array(repeating: Self.empty, count: oldKeys.count * 2)
        values = Array(repeating: Merge(rank: 0, result: 0), count: oldKeys.count * 2)
        shift -= 1
        count = 0
        for (k, v) in zip(oldKeys, oldValues) where k != Self.empty {
            insertIfAbsent(Int32(truncatingIfNeeded: k >> 32), Int32(truncatingIfNeeded: k), v)
        }
    }
}
