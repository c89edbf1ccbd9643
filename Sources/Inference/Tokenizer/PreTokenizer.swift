/// Splits text into words before byte-level BPE, as llama.cpp does with the regexes it lists per
/// `tokenizer.ggml.pre` (`llm_tokenizer_bpe` in llama-vocab.cpp). The regexes are applied in order,
/// each one splitting the pieces the previous left: a regex's matches and the gaps between them
/// both become pieces. Here each regex is a hand-written scanner over code points.
public struct PreTokenizer: Sendable {
    /// One regex of llama.cpp's lists.
    enum Pass: Sendable, Equatable {
        /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (GPT-2).
        case gpt2
        /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
        /// with N = 3 (Llama 3) or 1 (Qwen2, whose `\p{N}` alone is the only difference).
        case llama3(maxDigits: Int)
        /// `\p{N}` (each number character alone) or, unbounded, `\p{N}+`.
        case numbers(unbounded: Bool)
        /// `[0-9][0-9][0-9]`.
        case asciiDigitTriples
        /// `[\p{P}\$\+<=>\^~\|]+` (plus '`' for Falcon): runs of punctuation and these ASCII symbols.
        case punctuationRuns(withBacktick: Bool)
    }

    /// The llama.cpp pre-tokenizer family (`llama_vocab_pre_type`) this name belongs to.
    public enum Kind: String, Sendable, CaseIterable {
        case `default`, gpt2, smollm, llama3, qwen2, falcon
    }

    public let kind: Kind
    let passes: [Pass]

    public init(kind: Kind) {
        self.kind = kind
        passes = switch kind {
        case .default: [.punctuationRuns(withBacktick: false), .gpt2, .numbers(unbounded: true), .asciiDigitTriples]
        case .gpt2: [.gpt2]
        case .smollm: [.numbers(unbounded: false), .gpt2]
        case .llama3: [.llama3(maxDigits: 3)]
        case .qwen2: [.llama3(maxDigits: 1)]
        case .falcon: [.punctuationRuns(withBacktick: true), .gpt2, .asciiDigitTriples]
        }
    }

    /// Word boundaries of `scalars`: the end index of each word, in order (the last is `scalars.count`).
    func wordEnds(_ scalars: [UInt32]) -> [Int] {
        guard !scalars.isEmpty else { return [] }
        let flags = CodepointFlags.of(scalars)
        var ends = [scalars.count]
        var next: [Int] = []
        scalars.withUnsafeBufferPointer { scalars in
            flags.withUnsafeBufferPointer { flags in
                let text = ScannedText(scalars: scalars, flags: flags)
                for pass in passes {
                    next.removeAll(keepingCapacity: true)
                    next.reserveCapacity(ends.count * 2)
                    var start = 0
                    for end in ends {
                        text.split(start..<end, by: pass, into: &next)
                        start = end
                    }
                    swap(&ends, &next)
                }
            }
        }
        return ends
    }

    /// The words of `text`, for tests and debugging.
    public func words(_ text: String) -> [String] {
        let scalars = text.unicodeScalars.map(\.value)
        var start = 0
        return wordEnds(scalars).map { end in
            defer { start = end }
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[start..<end].map { Unicode.Scalar($0)! })
            return String(word)
        }
    }
}

extension PreTokenizer.Kind {
    /// The family of a `tokenizer.ggml.pre` name, as llama.cpp's `llama_vocab::impl::load` groups them;
    /// nil for names whose regexes are not implemented here.
    init?(preName: String?) {
        guard let name = preName else { self = .default; return }
        switch name {
        case "default":
            self = .default
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4":
            self = .gpt2
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
            self = .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
             "dbrx", "smaug-bpe", "glm4", "chatglm-bpe":
            self = .llama3
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open", "grok-2":
            self = .qwen2
        case "falcon":
            self = .falcon
        default:
            return nil
        }
    }
}
