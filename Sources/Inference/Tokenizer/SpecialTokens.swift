/// The special tokens llama.cpp settles on for a vocabulary: ids from the file over per-model
/// defaults, plus tokens recognised by their text (end of turn, fill-in-the-middle…), and the
/// end-of-generation set derived from them (`llama_vocab::impl::load`).
struct SpecialTokens: Sendable {
    var ids: [Vocabulary.Special: TokenID] = [:]
    var endOfGeneration: Set<TokenID> = []

    /// Texts that mark a token as end-of-turn when the file names none (the first one present wins).
    static let endOfTurnTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
        "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
    ]
    static let textsBySpecial: [(Vocabulary.Special, [String])] = [
        (.eot, endOfTurnTexts),
        (.eom, ["<|eom_id|>"]),
        (.fimPrefix, ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>"]),
        (.fimSuffix, ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>"]),
        (.fimMiddle, ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>"]),
        (.fimPad, ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
        (.fimRepository, ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
        (.fimSeparator, ["<|file_sep|>"]),
    ]
    /// Every token with one of these texts ends generation.
    static let endOfGenerationTexts = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
        "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
        "<｜end▁of▁sentence｜>",
    ]

    /// - Parameters:
    ///   - defaults: llama.cpp's ids for this model type, used where the file names none (or an invalid one).
    ///   - find: the id of a token text, if in the vocabulary.
    ///   - attributes: gains `control` for tokens recognised by text, as llama.cpp forces it.
    init(
        vocabulary: Vocabulary, defaults: [Vocabulary.Special: TokenID], find: (String) -> TokenID?,
        attributes: inout [TokenAttributes]
    ) {
        let count = vocabulary.tokens.count
        for special in Vocabulary.Special.allCases {
            if let id = defaults[special], id >= 0, id < count { ids[special] = id }
            if let id = vocabulary.specialIDs[special], id >= 0, id < count { ids[special] = TokenID(id) }
        }
        for (special, texts) in Self.textsBySpecial where ids[special] == nil {
            // llama.cpp walks a hash map, so which match wins is unspecified; take the lowest id.
            guard let id = texts.compactMap(find).min() else { continue }
            ids[special] = id
            attributes[Int(id)].insert(.control)
        }

        for special in [Vocabulary.Special.fimPad, .fimRepository, .fimSeparator] {
            if let id = ids[special] { endOfGeneration.insert(id) }
        }
        for id in Self.endOfGenerationTexts.compactMap(find) {
            endOfGeneration.insert(id)
            attributes[Int(id)].insert(.control)
        }
        // gpt-oss: these render as text.
        for id in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"].compactMap(find) {
            attributes[Int(id)] = .userDefined
        }
        for special in [Vocabulary.Special.eos, .eot, .eom] {
            if let id = ids[special] { endOfGeneration.insert(id) }
        }
        // Harmony-style vocabularies end a message with <|end|> but continue the turn: not EOG there.
        let eog = endOfGeneration
        func has(_ text: String) -> Bool { find(text).map(eog.contains) ?? false }
        let hasCall = has("<|call|>") || has("<|calls|>")
        if let end = find("<|end|>"), has("<|end|>"), hasCall, has("<|return|>") || has("<|flush|>") {
            endOfGeneration.remove(end)
            attributes[Int(end)] = .userDefined
        }
    }
}
