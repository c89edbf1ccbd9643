/// Text ↔ token ids for a LLaMA-family model, matching llama.cpp's `llama_tokenize` and
/// `llama_token_to_piece`: byte-level BPE (`gpt2`) or SentencePiece (`llama`) vocabularies,
/// special-token parsing, BOS/EOS rules and the end-of-generation set.
///
/// Immutable after `init`, so one instance serves any number of concurrent jobs.
public final class Tokenizer: Sendable {
    public let model: Vocabulary.Model
    /// The pre-tokenizer family of a byte-level BPE vocabulary (nil for SentencePiece).
    public let preTokenizerKind: PreTokenizer.Kind?
    public let bos: TokenID?
    public let eos: TokenID?
    /// Whether `encode(_:parseSpecial:addSpecial:)` with `addSpecial` prepends BOS / appends EOS.
    public let addBOS: Bool
    public let addEOS: Bool
    /// SentencePiece: prepend a space to text at the start and after special tokens.
    public let addSpacePrefix: Bool
    public let endOfGeneration: Set<TokenID>
    /// All special-token ids llama.cpp would use (bos, eos, eot, unknown, FIM…).
    public let specialIDs: [Vocabulary.Special: TokenID]

    private let texts: [String]
    /// Vocabulary strings first (id = token id), then strings only merges produce.
    private let table: TokenTable
    private let attributes: [TokenAttributes]
    /// Output bytes of every token, back to back: token `i` is `pieces[pieceStarts[i] ..< pieceStarts[i + 1]]`.
    private let pieces: [UInt8]
    private let pieceStarts: [Int]
    private let splitter: SpecialTokenSplitter
    private let preTokenizer: PreTokenizer?
    private let bytePair: BytePairEncoder?
    private let sentencePiece: SentencePieceEncoder?

    public convenience init(gguf: GGUFFile) throws {
        try self.init(vocabulary: Vocabulary(gguf: gguf))
    }

    public init(vocabulary: Vocabulary) throws {
        let count = vocabulary.tokens.count
        guard count > 0, count < Int(Int32.max) else {
            throw TokenizerError("the vocabulary has \(count) tokens")
        }
        if let types = vocabulary.types, types.count < count {
            throw TokenizerError("\(types.count) token types for \(count) tokens")
        }
        if let scores = vocabulary.scores, scores.count < count {
            throw TokenizerError("\(scores.count) token scores for \(count) tokens")
        }
        model = vocabulary.model
        // llama.cpp renames empty tokens so every token has text.
        let texts = vocabulary.tokens.enumerated().map { $1.isEmpty ? "[EMPTY_\($0)]" : $1 }
        self.texts = texts
        var table = TokenTable(minimumCapacity: count + vocabulary.merges.count / 4)
        for (id, text) in texts.enumerated() {
            let (existing, inserted) = table.insert(text.utf8)
            guard inserted else {
                throw TokenizerError("duplicate token in vocabulary: \"\(text)\" has ids \(existing) and \(id)")
            }
        }
        var attributes = vocabulary.types.map { $0.prefix(count).map(TokenAttributes.init) }
            ?? Array(repeating: .normal, count: count)

        // Per-model defaults, as llama.cpp's load() sets them before reading the file's keys.
        var defaults: [Vocabulary.Special: TokenID] = [:]
        var defaultAddBOS = false
        var ignoreMerges = false
        switch vocabulary.model {
        case .sentencePiece:
            defaults = [.bos: 1, .eos: 2, .unknown: 0]
            defaultAddBOS = true
            addSpacePrefix = vocabulary.addSpacePrefix ?? true
            preTokenizerKind = nil
        case .bytePair:
            guard let kind = PreTokenizer.Kind(preName: vocabulary.preTokenizer) else {
                throw TokenizerError("unsupported pre-tokenizer \"\(vocabulary.preTokenizer ?? "")\" (tokenizer.ggml.pre)")
            }
            preTokenizerKind = kind
            defaults = [.bos: 11, .eos: 11]
            let name = vocabulary.preTokenizer ?? "default"
            if ["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"]
                .contains(name) {
                defaultAddBOS = true
                ignoreMerges = true
            }
            if ["glm4", "chatglm-bpe"].contains(name) { defaults[.bos] = nil }
            addSpacePrefix = false  // byte-level BPE never adds a space prefix when encoding
        }
        addBOS = vocabulary.addBOS ?? defaultAddBOS
        addEOS = vocabulary.addEOS ?? false

        let special: SpecialTokens
        do {  // scoped, so the merges below extend the table without copying it
            let vocabularyTable = table
            special = SpecialTokens(
                vocabulary: vocabulary, defaults: defaults,
                find: { text in vocabularyTable.find(text.utf8).flatMap { Int($0) < count ? $0 : nil } },
                attributes: &attributes)
        }
        specialIDs = special.ids
        endOfGeneration = special.endOfGeneration
        bos = special.ids[.bos]
        eos = special.ids[.eos]
        if addBOS && bos == nil { throw TokenizerError("tokenizer.ggml.add_bos_token is true, but there is no BOS token") }
        if addEOS && eos == nil { throw TokenizerError("tokenizer.ggml.add_eos_token is true, but there is no EOS token") }

        switch vocabulary.model {
        case .sentencePiece:
            preTokenizer = nil
            bytePair = nil
            sentencePiece = SentencePieceEncoder(
                table: table, scores: vocabulary.scores ?? Array(repeating: 0, count: count),
                vocabularyCount: count, unknown: special.ids[.unknown])
        case .bytePair:
            preTokenizer = preTokenizerKind.map(PreTokenizer.init(kind:))
            bytePair = BytePairEncoder(
                merges: vocabulary.merges, table: &table, vocabularyCount: count, ignoreMerges: ignoreMerges)
            sentencePiece = nil
        }
        self.table = table
        self.attributes = attributes
        (pieces, pieceStarts) = Self.pieces(texts: texts, attributes: attributes, model: vocabulary.model)
        splitter = SpecialTokenSplitter(candidates: attributes.indices.compactMap { id in
            let a = attributes[id]
            guard !a.isDisjoint(with: [.control, .userDefined, .unknown]) else { return nil }
            return .init(id: TokenID(id), text: Array(texts[id].utf8),
                         onlyWhenParsingSpecial: !a.isDisjoint(with: [.control, .unknown]),
                         stripLeft: a.contains(.leftStrip), stripRight: a.contains(.rightStrip))
        })
    }

    // MARK: - Queries

    public var vocabularySize: Int { texts.count }

    /// The raw vocabulary string (byte-level spelling, "▁" for spaces…), for debugging and logprobs.
    public func piece(_ token: TokenID) -> String {
        isValid(token) ? texts[Int(token)] : ""
    }

    public func isControl(_ token: TokenID) -> Bool {
        isValid(token) && attributes[Int(token)].contains(.control)
    }

    public func isEndOfGeneration(_ token: TokenID) -> Bool {
        endOfGeneration.contains(token)
    }

    /// The id of a token spelled exactly `text` in the vocabulary.
    public func token(spelled text: String) -> TokenID? {
        table.find(text.utf8).flatMap { Int($0) < texts.count ? $0 : nil }
    }

    @inline(__always)
    private func isValid(_ token: TokenID) -> Bool {
        token >= 0 && Int(token) < texts.count
    }

    // MARK: - Decoding

    /// The bytes `token` contributes to output text: byte-level decoded; empty for control and
    /// unknown tokens; "▁" → " " and `<0xNN>` → that byte for SentencePiece. Out of range: empty.
    public func bytes(of token: TokenID) -> [UInt8] {
        guard isValid(token) else { return [] }
        return Array(pieces[pieceStarts[Int(token)]..<pieceStarts[Int(token) + 1]])
    }

    func appendBytes(of token: TokenID, to output: inout [UInt8]) {
        guard isValid(token) else { return }
        output.append(contentsOf: pieces[pieceStarts[Int(token)]..<pieceStarts[Int(token) + 1]])
    }

    /// The text of `tokens`, the concatenation of their bytes decoded once (invalid UTF-8 becomes U+FFFD).
    /// Exactly what a `Detokenizer` streams out; no space clean-up or prefix stripping.
    public func decode(_ tokens: [TokenID]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tokens.count * 4)
        for token in tokens { appendBytes(of: token, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Encoding

    /// Token ids of `text`, as `llama_tokenize(text, addSpecial, parseSpecial)`.
    /// - Parameters:
    ///   - parseSpecial: the text of control tokens (e.g. "<|im_start|>") becomes that token.
    ///   - addSpecial: prepend BOS / append EOS as `addBOS` / `addEOS` say.
    public func encode(_ text: String, parseSpecial: Bool, addSpecial: Bool) -> [TokenID] {
        var text = text
        var output: [TokenID] = []
        output.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecial && addBOS, let bos { output.append(bos) }
        text.withUTF8 { bytes in
            encode(splitter.split(bytes, parseSpecial: parseSpecial), of: bytes, into: &output)
        }
        if addSpecial && addEOS, let eos { output.append(eos) }
        return output
    }

    /// Token ids of a rendered chat prompt: special tokens are recognised in the template's
    /// text only, never in message content, and the plain text between two special tokens is
    /// encoded as one piece whichever segments it spans (as if the prompt were one string).
    public func encode(_ segments: [PromptSegment], addSpecial: Bool) -> [TokenID] {
        var text = ""
        var ranges: [(Range<Int>, parse: Bool)] = []
        for segment in segments {
            let (piece, parse) = switch segment {
            case .template(let piece): (piece, true)
            case .content(let piece): (piece, false)
            }
            let start = text.utf8.count
            text += piece
            ranges.append((start..<text.utf8.count, parse))
        }
        var output: [TokenID] = []
        if addSpecial && addBOS, let bos { output.append(bos) }
        text.withUTF8 { bytes in
            var fragments: [SpecialTokenSplitter.Fragment] = []
            for (range, parse) in ranges where !range.isEmpty {
                let pieces = splitter.split(UnsafeBufferPointer(rebasing: bytes[range]), parseSpecial: parse)
                for piece in pieces {
                    switch piece {
                    case .token(let id):
                        fragments.append(.token(id))
                    case .text(let local):
                        let global = (local.lowerBound + range.lowerBound)..<(local.upperBound + range.lowerBound)
                        if case .text(let previous) = fragments.last, previous.upperBound == global.lowerBound {
                            fragments[fragments.count - 1] = .text(previous.lowerBound..<global.upperBound)
                        } else {
                            fragments.append(.text(global))
                        }
                    }
                }
            }
            encode(fragments, of: bytes, into: &output)
        }
        if addSpecial && addEOS, let eos { output.append(eos) }
        return output
    }

    private func encode(
        _ fragments: [SpecialTokenSplitter.Fragment], of bytes: UnsafeBufferPointer<UInt8>, into output: inout [TokenID]
    ) {
        if let bytePair, let preTokenizer {
            var workspace = BytePairEncoder.Workspace()
            for fragment in fragments {
                switch fragment {
                case .token(let id): output.append(id)
                case .text(let range):
                    encodeBytePair(UnsafeBufferPointer(rebasing: bytes[range]), bytePair, preTokenizer,
                                   into: &output, &workspace)
                }
            }
        } else if let sentencePiece {
            var workspace = SentencePieceEncoder.Workspace()
            var escaped: [UInt8] = []
            var afterSpecial = true  // the text's start counts as "after a special token"
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    afterSpecial = true
                case .text(let range):
                    Self.escapeSpaces(bytes[range], prefix: addSpacePrefix && afterSpecial, into: &escaped)
                    escaped.withUnsafeBufferPointer {
                        sentencePiece.encode($0, table: table, into: &output, workspace: &workspace)
                    }
                    afterSpecial = false
                }
            }
        }
    }

    private func encodeBytePair(
        _ bytes: UnsafeBufferPointer<UInt8>, _ encoder: BytePairEncoder, _ preTokenizer: PreTokenizer,
        into output: inout [TokenID], _ workspace: inout BytePairEncoder.Workspace
    ) {
        let (scalars, offsets) = Self.decodeUTF8(bytes)
        var start = 0
        for end in preTokenizer.wordEnds(scalars) {
            let word = UnsafeBufferPointer(rebasing: bytes[offsets[start]..<offsets[end]])
            encoder.encode(word, table: table, into: &output, workspace: &workspace)
            start = end
        }
    }

    /// Code points of `bytes` and the byte offset of each (plus the end). Invalid bytes, which a
    /// Swift String cannot hold, would each read as U+FFFD as in llama.cpp.
    static func decodeUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> (scalars: [UInt32], offsets: [Int]) {
        var scalars: [UInt32] = [], offsets: [Int] = []
        scalars.reserveCapacity(bytes.count)
        offsets.reserveCapacity(bytes.count + 1)
        var i = 0
        while i < bytes.count {
            offsets.append(i)
            let lead = bytes[i]
            let length = SentencePieceEncoder.utf8Length(lead: lead)
            guard length > 1, lead >= 0xC0, i + length <= bytes.count else {
                scalars.append(lead < 0x80 ? UInt32(lead) : 0xFFFD)
                i += 1
                continue
            }
            var value = UInt32(lead) & (0x7F >> length)
            for k in 1..<length { value = value << 6 | UInt32(bytes[i + k] & 0x3F) }
            scalars.append(value)
            i += length
        }
        offsets.append(bytes.count)
        return (scalars, offsets)
    }

    /// SentencePiece spells spaces "▁" (U+2581); llama.cpp prepends one space where a word starts.
    private static func escapeSpaces(_ bytes: UnsafeBufferPointer<UInt8>.SubSequence, prefix: Bool, into output: inout [UInt8]) {
        output.removeAll(keepingCapacity: true)
        let escapedSpace: [UInt8] = [0xE2, 0x96, 0x81]
        if prefix { output.append(contentsOf: escapedSpace) }
        for byte in bytes {
            if byte == 0x20 { output.append(contentsOf: escapedSpace) } else { output.append(byte) }
        }
    }
}
