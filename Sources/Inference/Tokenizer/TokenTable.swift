/// Byte strings → dense ids (insertion order), with open addressing over one contiguous byte store.
///
/// Why not `[String: TokenID]`: Swift compares Strings by canonical equivalence ("é" == "e\u{301}"),
/// while llama.cpp looks tokens up byte for byte; and the encoders look up slices of a larger buffer,
/// which here needs no allocation.
struct TokenTable: Sendable {
    /// All strings back to back; string `i` is `storage[starts[i] ..< starts[i + 1]]`.
    private var storage: [UInt8] = []
    private var starts: [Int] = [0]
    /// Ids by hash slot, -1 when empty. The count is a power of two, at most half full.
    private var slots: [Int32]
    private var hashes: [UInt32] = []

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = Array(repeating: -1, count: size)
        storage.reserveCapacity(minimumCapacity * 8)
        starts.reserveCapacity(minimumCapacity + 1)
        hashes.reserveCapacity(minimumCapacity)
    }

    var count: Int { starts.count - 1 }

    func bytes(of id: Int32) -> ArraySlice<UInt8> {
        storage[starts[Int(id)]..<starts[Int(id) + 1]]
    }

    /// FNV-1a: the keys are short, and byte-at-a-time hashing needs no alignment.
    @inline(__always)
    private static func hash(_ key: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var h: UInt32 = 2_166_136_261
        for byte in key { h = (h ^ UInt32(byte)) &* 16_777_619 }
        return h
    }

    func find(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let h = Self.hash(key)
        return storage.withUnsafeBufferPointer { store in
            starts.withUnsafeBufferPointer { starts in
                slots.withUnsafeBufferPointer { slots in
                    hashes.withUnsafeBufferPointer { hashes in
                        Self.probe(key, hash: h, store: store, starts: starts, slots: slots, hashes: hashes).id
                    }
                }
            }
        }
    }

    func find(_ key: some Collection<UInt8>) -> Int32? {
        if let found = key.withContiguousStorageIfAvailable({ find($0) }) { return found }
        return Array(key).withUnsafeBufferPointer { find($0) }
    }

    /// The id of `key`, or of the slot where it would go.
    @inline(__always)
    private static func probe(
        _ key: UnsafeBufferPointer<UInt8>, hash: UInt32, store: UnsafeBufferPointer<UInt8>,
        starts: UnsafeBufferPointer<Int>, slots: UnsafeBufferPointer<Int32>, hashes: UnsafeBufferPointer<UInt32>
    ) -> (id: Int32?, slot: Int) {
        let mask = slots.count - 1
        var slot = Int(hash) & mask
        while true {
            let id = slots[slot]
            if id < 0 { return (nil, slot) }
            if hashes[Int(id)] == hash {
                let start = starts[Int(id)], end = starts[Int(id) + 1]
                if end - start == key.count && (key.isEmpty || memoryEqual(store.baseAddress! + start, key.baseAddress!, key.count)) {
                    return (id, slot)
                }
            }
            slot = (slot + 1) & mask
        }
    }

    @inline(__always)
    private static func memoryEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }

    /// Adds `key` unless present; returns its id either way.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt8>) -> (id: Int32, inserted: Bool) {
        let h = Self.hash(key)
        let (found, slot) = storage.withUnsafeBufferPointer { store in
            starts.withUnsafeBufferPointer { starts in
                slots.withUnsafeBufferPointer { slots in
                    hashes.withUnsafeBufferPointer { hashes in
                        Self.probe(key, hash: h, store: store, starts: starts, slots: slots, hashes: hashes)
                    }
                }
            }
        }
        if let found { return (found, false) }
        let id = Int32(count)
        storage.append(contentsOf: key)
        starts.append(storage.count)
        hashes.append(h)
        slots[slot] = id
        if count * 2 > slots.count { grow() }
        return (id, true)
    }

    @discardableResult
    mutating func insert(_ key: some Collection<UInt8>) -> (id: Int32, inserted: Bool) {
        if let result = key.withContiguousStorageIfAvailable({ insert($0) }) { return result }
        return Array(key).withUnsafeBufferPointer { insert($0) }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var newSlots = [Int32](repeating: -1, count: size)
        let mask = size - 1
        for id in 0..<count {
            var slot = Int(hashes[id]) & mask
            while newSlots[slot] >= 0 { slot = (slot + 1) & mask }
            newSlots[slot] = Int32(id)
        }
        slots = newSlots
    }
}
