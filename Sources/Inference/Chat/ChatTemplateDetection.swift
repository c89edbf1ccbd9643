/// Recognising a family from a GGUF's `tokenizer.chat_template` (Jinja source) by the substrings it contains,
/// in the order llama.cpp's `llm_chat_detect_template` checks them, so both pick the same family.
extension ChatTemplate {
    /// Detects from a Jinja template source (or a bare family name such as "chatml" or "llama2-sys");
    /// throws `ChatTemplateError.unknownTemplate` otherwise.
    public static func detect(from source: String) throws -> ChatTemplate {
        let name = String(trimmed(source)).lowercased()
        if let family = Family(rawValue: name) { return ChatTemplate(family: family) }
        let family = try family(ofJinja: source)
        let defaultSystem = family == .chatml ? chatMLDefaultSystemMessage(in: source) : nil
        return ChatTemplate(family: family, defaultSystemMessage: defaultSystem)
    }

    private static func family(ofJinja source: String) throws -> Family {
        func has(_ marker: String) -> Bool { source.firstRange(of: marker) != nil }

        if has("<|im_start|>") {
            if has("<|im_sep|>") { throw ChatTemplateError.unsupportedFamily("phi4") }
            // SmolVLM uses <|im_start|> as BOS but is not ChatML.
            if has("<end_of_utterance>") { throw ChatTemplateError.unsupportedFamily("smolvlm") }
            return .chatml
        }
        if source.hasPrefix("mistral") || has("[INST]") {
            if has("[SYSTEM_PROMPT]") { return .mistralV7 }
            // Mistral's official v1 template (system prepended to the first user text) and v3 (tools).
            if has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]") {
                if has(" [INST]") { return .mistralV1 }
                if has("\"[INST]\"") { return .mistralV3Tekken }
                return .mistralV3
            }
            if has("content.strip()") { return .llama2SystemStrip }
            if has("bos_token + '[INST]") { return .llama2SystemBOS }
            if has("<<SYS>>") { return .llama2System }
            return .llama2
        }
        if has("<|assistant|>") && has("<|end|>") { return .phi3 }
        if has("[gMASK]<sop>") { throw ChatTemplateError.unsupportedFamily("chatglm4") }
        if has("<|assistant|>") && has("<|user|>") {
            // llama.cpp reads every such template as Falcon 3 or GLM-Edge; look at what closes the user
            // turn so that Zephyr-style templates (TinyLlama-Chat, zephyr-7b-beta) are not misread.
            if let family = zephyrFamily(of: source) { return family }
            throw ChatTemplateError.unsupportedFamily(has("</s>") ? "falcon3" : "glmedge")
        }
        if has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>") {
            throw ChatTemplateError.unsupportedFamily("glmedge")
        }
        if has("<|user|>") && has("<|endoftext|>") { return .zephyr }
        if has("bos_token + message['role']") { throw ChatTemplateError.unsupportedFamily("monarch") }
        if has("<start_of_turn>") { return .gemma }
        if has("<|start_header_id|>") && has("<|end_header_id|>") { return .llama3 }
        throw ChatTemplateError.unknownTemplate(ChatTemplateError.excerpt(of: source))
    }

    /// The Zephyr variant whose end-of-turn marker follows the user's content (the first marker after
    /// "<|user|>"), or nil when another role tag comes first (Falcon 3 ends user turns with a bare "\n").
    private static func zephyrFamily(of source: String) -> Family? {
        guard let user = source.firstRange(of: "<|user|>") else { return nil }
        let rest = source[user.upperBound...]
        // On a tie the earlier entry wins: "<|endoftext|>" also starts with "<|".
        let markers: [(String, Family?)] = [
            ("<|endoftext|>", .zephyr), ("eos_token", .zephyrEOS), ("</s>", .zephyrEOS), ("<|", nil),
        ]
        var first: (position: String.Index, family: Family?)?
        for (marker, family) in markers {
            if let range = rest.firstRange(of: marker), first == nil || range.lowerBound < first!.position {
                first = (range.lowerBound, family)
            }
        }
        return first?.family
    }

    /// The system message a ChatML template writes itself when the conversation has none, taken from a string
    /// literal such as `'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, …<|im_end|>\n'`.
    /// Literals that splice in a message (`'<|im_start|>system\n' + messages[0]['content']`) are skipped.
    static func chatMLDefaultSystemMessage(in source: String) -> String? {
        for marker in source.ranges(of: "<|im_start|>system") {
            var rest = source[marker.upperBound...]
            // The newline is either a real one or the escape `\n` inside the literal.
            if rest.hasPrefix("\\n") {
                rest = rest.dropFirst(2)
            } else if rest.hasPrefix("\n") {
                rest = rest.dropFirst()
            } else {
                continue
            }
            guard let end = rest.firstRange(of: "<|im_end|>") else { continue }
            if let text = jinjaLiteralText(rest[..<end.lowerBound]), !text.isEmpty { return text }
        }
        return nil
    }

    /// The value of the inside of a Jinja string literal, or nil when `raw` is not all inside one literal
    /// (an unescaped quote closes it; `{{` or `{%` means template text with an expression in it).
    private static func jinjaLiteralText(_ raw: Substring) -> String? {
        if raw.firstRange(of: "{{") != nil || raw.firstRange(of: "{%") != nil { return nil }
        var text = ""
        var escaped = false
        for character in raw {
            if escaped {
                switch character {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                default: text.append(character)  // \\ \' \"
                }
                escaped = false
                continue
            }
            switch character {
            case "\\": escaped = true
            case "'", "\"": return nil
            default: text.append(character)
            }
        }
        return escaped ? nil : text
    }
}
