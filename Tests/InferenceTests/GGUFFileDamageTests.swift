import Foundation
import Inference
import Testing
import TestSupport

/// The reference model cut short and corrupted at hundreds of places: every variant must either
/// open or throw `GGUFError` naming the file. A crash or a hang would take the test run down,
/// so finishing is itself the check; the counts make sure the damage was really seen.
///
/// Variants are made in place in one scratch file per test case: the header (the first ~1.8 MB)
/// written once, the tensor data left as a sparse hole of zeros, which `GGUFFile` never reads.
@Suite struct GGUFFileDamageTests {
    struct Reference: Sendable {
        var header: [UInt8]
        var fileSize: Int
        var dataOffset: Int
        var tensorsStart: Int
        var lastTensorEnd: Int
        /// Offsets of metadata fields: counts, key lengths, value types, array counts.
        var keyFields: [Int]
        /// Offsets of tensor directory fields: name lengths, shapes, types, data offsets.
        var tensorFields: [Int]
    }

    /// nil without the model; a failure to read it is kept so that each test reports it.
    static let reference: Result<Reference?, LoadFailure> = {
        do { return .success(try loadReference()) } catch { return .failure(LoadFailure(description: "\(error)")) }
    }()

    struct LoadFailure: Error, CustomStringConvertible { var description: String }

    static func loadReference() throws -> Reference? {
        guard let path = Repository.referenceModelPath else { return nil }
        let file = try GGUFFile(path: path)
        let mapped = try MappedFile(path: path)
        let header = Array(mapped.bytes[..<file.dataOffset])
        let headerData = Data(header)
        var keyFields = [0, 4, 8, 15, 16, 23]
        // Key entries: length prefix, type, and for arrays the element type and count.
        for key in file.metadata.keys {
            let needle = withUnsafeBytes(of: UInt64(key.utf8.count).littleEndian, Array.init) + Array(key.utf8)
            // Foundation's search: fast even in a debug build.
            guard let entry = headerData.range(of: Data(needle))?.lowerBound else { continue }
            let type = entry + 8 + key.utf8.count
            keyFields += [entry, entry + 1, entry + 7, type, type + 4]
            if case .array = file.metadata[key] { keyFields += [type + 8, type + 9, type + 10, type + 15] }
        }
        // Tensor entries: name length, dimension count, dimensions, type, data offset.
        var tensorFields: [Int] = []
        for tensor in file.tensors {
            let dims = tensor.infoOffset + 8 + tensor.name.utf8.count
            let type = dims + 4 + 8 * tensor.shape.count
            tensorFields += [tensor.infoOffset, dims, dims + 4, dims + 6, type, type + 4, type + 7]
        }
        let ends = file.tensors.map { file.dataOffset + $0.offset + $0.byteCount }
        return Reference(
            header: header, fileSize: mapped.bytes.count, dataOffset: file.dataOffset,
            tensorsStart: file.tensors.first?.infoOffset ?? file.dataOffset,
            lastTensorEnd: ends.max() ?? file.dataOffset,
            keyFields: keyFields.filter { $0 < file.dataOffset }.sorted(), tensorFields: tensorFields)
    }


    /// `count` offsets in `range`, one in each of `count` equal strata.
    static func spread(_ count: Int, over range: Range<Int>, _ random: inout SplitMix64) -> [Int] {
        (0..<count).map { index in
            let low = range.lowerBound + range.count * index / count
            let high = range.lowerBound + range.count * (index + 1) / count
            return low + random.below(max(high - low, 1))
        }
    }

    /// `count` elements of `elements` (all of them if fewer), in order.
    static func sample(_ count: Int, of elements: [Int], _ random: inout SplitMix64) -> [Int] {
        var chosen = Set<Int>()
        while chosen.count < min(count, elements.count) { chosen.insert(random.below(elements.count)) }
        return chosen.sorted().map { elements[$0] }
    }

    enum Outcome { case opened, refused }

    /// Opens the scratch file; a `GGUFError` must name it and point inside the file.
    static func open(_ scratch: ScratchFile, fileSize: Int, what: String) -> Outcome {
        do {
            _ = try GGUFFile(path: scratch.path)
            return .opened
        } catch let error as GGUFError {
            #expect(error.file == scratch.path, "\(what): \(error)")
            #expect((0...fileSize).contains(error.offset), "\(what): \(error)")
            return .refused
        } catch {
            Issue.record("\(what): not a GGUFError: \(error)")
            return .refused
        }
    }

    static let truncationParts = 2

    @Test(arguments: 0..<GGUFFileDamageTests.truncationParts)
    func truncatedModelIsRefused(part: Int) throws {
        guard let reference = try Self.reference.get() else { return }
        var random = SplitMix64(seed: 1)  // a fixed seed gives the same variants on every run
        var lengths = Array(0..<40)  // the header counts and the first key, byte by byte
        lengths += Self.spread(60, over: 40..<reference.tensorsStart, &random)
        lengths += Self.spread(60, over: reference.tensorsStart..<reference.dataOffset, &random)
        lengths += Self.spread(20, over: reference.dataOffset..<reference.lastTensorEnd, &random)
        lengths += Self.sample(20, of: reference.keyFields, &random).map { $0 + 3 }
        lengths += Self.sample(20, of: reference.tensorFields, &random).map { $0 + 3 }
        lengths += [reference.dataOffset - 1, reference.lastTensorEnd - 1]
        // Longest first: each cut only shortens the file further.
        let mine = Set(lengths).sorted(by: >).enumerated().filter { $0.offset % Self.truncationParts == part }.map(\.element)

        let scratch = try ScratchFile(name: "truncated")
        defer { scratch.remove() }
        try scratch.write(reference.header)
        try scratch.truncate(to: reference.lastTensorEnd)
        if part == 0 {
            #expect(Self.open(scratch, fileSize: reference.lastTensorEnd, what: "intact") == .opened)
        }
        var refused = 0
        for length in mine {
            try scratch.truncate(to: length)
            let outcome = Self.open(scratch, fileSize: length, what: "cut at \(length)")
            #expect(outcome == .refused, "cut at \(length) of \(reference.lastTensorEnd) bytes opened")
            refused += outcome == .refused ? 1 : 0
        }
        #expect(mine.count >= 90 && refused == mine.count, "\(refused) of \(mine.count) cuts refused")
    }

    static let corruptionParts = 4

    @Test(arguments: 0..<GGUFFileDamageTests.corruptionParts)
    func corruptedModelOpensOrIsRefused(part: Int) throws {
        guard let reference = try Self.reference.get() else { return }
        var random = SplitMix64(seed: 2)
        var offsets = Array(0..<24)
        offsets += Self.sample(120, of: reference.keyFields, &random)
        offsets += Self.sample(120, of: reference.tensorFields, &random)
        offsets += Self.spread(160, over: 24..<reference.dataOffset, &random)
        // Single bytes, 4-byte and 8-byte fields: zeros, all ones, random.
        let patterns: [(inout SplitMix64) -> [UInt8]] = [
            { _ in [0x00] }, { _ in [0xFF] }, { r in [UInt8(r.below(256))] },
            { _ in [0xFF, 0xFF, 0xFF, 0xFF] }, { _ in [0, 0, 0, 0] }, { r in (0..<4).map { _ in UInt8(r.below(256)) } },
            { _ in [UInt8](repeating: 0xFF, count: 8) }, { r in (0..<8).map { _ in UInt8(r.below(256)) } },
        ]
        var variants: [(offset: Int, bytes: [UInt8])] = []
        for (index, offset) in offsets.enumerated() {
            let bytes = Array(patterns[index % patterns.count](&random).prefix(reference.dataOffset - offset))
            // A pattern equal to what is there already damages nothing.
            if bytes != Array(reference.header[offset..<offset + bytes.count]) { variants.append((offset, bytes)) }
        }
        let mine = variants.enumerated().filter { $0.offset % Self.corruptionParts == part }.map(\.element)

        let scratch = try ScratchFile(name: "corrupted")
        defer { scratch.remove() }
        try scratch.write(reference.header)
        try scratch.truncate(to: reference.fileSize)
        var outcomes: [Outcome: Int] = [:]
        for (offset, bytes) in mine {
            try scratch.patch(at: offset, bytes)
            let what = "bytes \(bytes.map { String($0, radix: 16) }) at \(offset)"
            let outcome = Self.open(scratch, fileSize: reference.fileSize, what: what)
            outcomes[outcome, default: 0] += 1
            if offset < 4 { #expect(outcome == .refused, "\(what): a damaged magic number opened") }
            try scratch.patch(at: offset, Array(reference.header[offset..<offset + bytes.count]))
        }
        // Damage to field bytes mostly shows; damage inside strings mostly does not.
        #expect(mine.count >= 90, "\(mine.count) variants")
        #expect(outcomes[.refused, default: 0] > mine.count / 3, "\(outcomes)")
        #expect(outcomes[.opened, default: 0] > 0, "\(outcomes)")
        #expect(Self.open(scratch, fileSize: reference.fileSize, what: "restored") == .opened)
    }
}

extension SplitMix64 {
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
