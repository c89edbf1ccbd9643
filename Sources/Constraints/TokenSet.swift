/// A set of token ids, a bit each: what a constrained sampler may pick.
public struct TokenSet: Equatable, Sendable {
    public private(set) var words: [UInt64]
    public let count: Int

    public init(count: Int) {
        self.count = count
        words = Array(repeating: 0, count: (count + 63) / 64)
    }

    init(words: [UInt64], count: Int) {
        self.words = words
        self.count = count
    }

    public mutating func insert(_ id: Int) { words[id >> 6] |= 1 << UInt64(id & 63) }
    public func contains(_ id: Int) -> Bool { words[id >> 6] & (1 << UInt64(id & 63)) != 0 }
    public var population: Int { words.reduce(0) { $0 + $1.nonzeroBitCount } }
    public var isEmpty: Bool { words.allSatisfy { $0 == 0 } }
}
