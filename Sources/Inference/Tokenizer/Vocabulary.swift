/// A model's tokenizer as stored in its GGUF file (`tokenizer.ggml.*`), before any of llama.cpp's
/// defaults are applied. Build one from a file, or from values in tests.
public struct Vocabulary: Sendable {
    /// `tokenizer.ggml.model`.
    public enum Model: String, Sendable {
        /// GPT-2-style byte-level BPE with merge ranks.
        case bytePair = "gpt2"
        /// SentencePiece BPE merged by token scores (Llama 2, Mistral, TinyLlama).
        case sentencePiece = "llama"
    }

    /// `tokenizer.ggml.token_type`, numbered as llama.cpp's `llama_token_type`.
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The special-token ids a file may name, with their key under `tokenizer.ggml.`.
    public enum Special: String, CaseIterable, Sendable {
        case bos = "bos_token_id", eos = "eos_token_id", eot = "eot_token_id", eom = "eom_token_id"
        case unknown = "unknown_token_id", separator = "seperator_token_id"  // sic: llama.cpp's key
        case padding = "padding_token_id", mask = "mask_token_id"
        case fimPrefix = "fim_pre_token_id", fimSuffix = "fim_suf_token_id", fimMiddle = "fim_mid_token_id"
        case fimPad = "fim_pad_token_id", fimRepository = "fim_rep_token_id", fimSeparator = "fim_sep_token_id"

        /// Older files name the first three FIM tokens by these keys.
        var deprecatedKey: String? {
            switch self {
            case .fimPrefix: "prefix_token_id"
            case .fimSuffix: "suffix_token_id"
            case .fimMiddle: "middle_token_id"
            default: nil
            }
        }
    }

    public var model: Model
    /// `tokenizer.ggml.pre`: which pre-tokenizer regexes a byte-level BPE uses (nil means "default").
    public var preTokenizer: String?
    public var tokens: [String]
    /// Merge priority for SentencePiece (higher merges first); nil means all zero.
    public var scores: [Float]?
    /// nil means every token is normal.
    public var types: [TokenType]?
    /// "left right" pairs, highest priority first (byte-level BPE only).
    public var merges: [String]
    /// Ids named in the file, before llama.cpp's per-model defaults.
    public var specialIDs: [Special: Int]
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?

    public init(
        model: Model, tokens: [String], scores: [Float]? = nil, types: [TokenType]? = nil,
        merges: [String] = [], preTokenizer: String? = nil, specialIDs: [Special: Int] = [:],
        addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil
    ) {
        self.model = model
        self.tokens = tokens
        self.scores = scores
        self.types = types
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.specialIDs = specialIDs
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
    }

    /// Reads the `tokenizer.ggml.*` keys; a missing or mistyped key throws a `GGUFError` naming it.
    public init(gguf: GGUFFile) throws {
        let modelName = try gguf.string("tokenizer.ggml.model")
        guard let model = Model(rawValue: modelName) else {
            throw TokenizerError("tokenizer.ggml.model is \"\(modelName)\"; supported are \"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece)")
        }
        guard case .strings(let tokens) = try gguf.array("tokenizer.ggml.tokens") else {
            throw Self.typeError(gguf, "tokenizer.ggml.tokens", expected: "an array of strings")
        }
        self.init(model: model, tokens: tokens)
        if gguf.metadata["tokenizer.ggml.pre"] != nil {
            preTokenizer = try gguf.string("tokenizer.ggml.pre")
        }
        scores = try Self.scores(gguf, count: tokens.count)
        types = try Self.types(gguf, count: tokens.count)
        if model == .bytePair {
            guard case .strings(let merges) = try gguf.array("tokenizer.ggml.merges") else {
                throw Self.typeError(gguf, "tokenizer.ggml.merges", expected: "an array of strings")
            }
            self.merges = merges
        }
        for special in Special.allCases {
            for key in [special.rawValue, special.deprecatedKey].compactMap({ $0 }) {
                let fullKey = "tokenizer.ggml." + key
                if gguf.metadata[fullKey] != nil, specialIDs[special] == nil {
                    specialIDs[special] = try gguf.int(fullKey)
                }
            }
        }
        addBOS = try Self.bool(gguf, "tokenizer.ggml.add_bos_token")
        addEOS = try Self.bool(gguf, "tokenizer.ggml.add_eos_token")
        addSpacePrefix = try Self.bool(gguf, "tokenizer.ggml.add_space_prefix")
    }

    private static func typeError(_ gguf: GGUFFile, _ key: String, expected: String) -> GGUFError {
        let found = gguf.metadata[key].map { value -> String in
            if case .array(let array) = value { return "an array of \(array.elementKind)" }
            return value.typeName
        } ?? "missing"
        return GGUFError(file: gguf.path, offset: 0, reason: "metadata key \(key) is \(found), expected \(expected)")
    }

    private static func bool(_ gguf: GGUFFile, _ key: String) throws -> Bool? {
        guard let value = gguf.metadata[key] else { return nil }
        guard let bool = value.bool else { throw typeError(gguf, key, expected: "a bool") }
        return bool
    }

    private static func scores(_ gguf: GGUFFile, count: Int) throws -> [Float]? {
        let key = "tokenizer.ggml.scores"
        guard gguf.metadata[key] != nil else { return nil }
        let scores: [Float]
        switch try gguf.array(key) {
        case .floats(let values): scores = values.map { Float($0) }
        case .integers(let values): scores = values.map { Float($0) }
        default: throw typeError(gguf, key, expected: "an array of numbers")
        }
        guard scores.count >= count else {
            throw GGUFError(file: gguf.path, offset: 0, reason: "metadata key \(key) has \(scores.count) entries for \(count) tokens")
        }
        return scores
    }

    private static func types(_ gguf: GGUFFile, count: Int) throws -> [TokenType]? {
        let key = "tokenizer.ggml.token_type"
        guard gguf.metadata[key] != nil else { return nil }
        guard case .integers(let values) = try gguf.array(key) else {
            throw typeError(gguf, key, expected: "an array of integers")
        }
        guard values.count >= count else {
            throw GGUFError(file: gguf.path, offset: 0, reason: "metadata key \(key) has \(values.count) entries for \(count) tokens")
        }
        // Unknown numbers are "undefined", as in llama.cpp.
        return values.map { Int32(exactly: $0).flatMap(TokenType.init(rawValue:)) ?? .undefined }
    }
}

extension GGUFArray {
    fileprivate var elementKind: String {
        switch self {
        case .integers: "integers"
        case .unsignedIntegers: "unsigned integers"
        case .floats: "floats"
        case .bools: "bools"
        case .strings: "strings"
        case .arrays: "arrays"
        }
    }
}
