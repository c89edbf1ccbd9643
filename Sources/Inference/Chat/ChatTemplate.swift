/// A chat prompt layout, rendered without a Jinja engine: the families llama.cpp's `llm_chat_apply_template`
/// (src/llama-chat.cpp) writes by hand, laid out the same way, byte for byte.
///
/// Rendering returns segments so that message content never passes through special-token parsing.
public struct ChatTemplate: Sendable, Equatable {
    /// Raw values are llama.cpp's template names (`--chat-template NAME`), except `zephyrEOS`, which llama.cpp lacks.
    public enum Family: String, Sendable, CaseIterable {
        /// `<|im_start|>role\n…<|im_end|>\n` (SmolLM2, Qwen, OpenHermes).
        case chatml
        /// `[INST] … [/INST]` with no system block: a system message goes before the first user text, ending "\n"
        /// (Mistral-7B-Instruct v0.1/v0.2).
        case llama2
        /// `[INST] <<SYS>>\n…\n<</SYS>>\n\n… [/INST]`.
        case llama2System = "llama2-sys"
        /// llama2-sys with `<s>` before every later `[INST]`.
        case llama2SystemBOS = "llama2-sys-bos"
        /// llama2-sys with every message trimmed (Meta's Llama-2-chat template uses `content.strip()`).
        case llama2SystemStrip = "llama2-sys-strip"
        /// `<|start_header_id|>role<|end_header_id|>\n\n…<|eot_id|>`, content trimmed.
        case llama3
        /// Mistral's official templates: v1 `" [INST] … [/INST]"`, v3 `"[INST] …[/INST]"` (assistant trimmed),
        /// v3-tekken `"[INST]…[/INST]"`.
        case mistralV1 = "mistral-v1"
        case mistralV3 = "mistral-v3"
        case mistralV3Tekken = "mistral-v3-tekken"
        /// `[SYSTEM_PROMPT] …[/SYSTEM_PROMPT][INST] …[/INST]`; tekken drops the spaces.
        case mistralV7 = "mistral-v7"
        case mistralV7Tekken = "mistral-v7-tekken"
        /// `<|role|>\n…<|endoftext|>\n` (StableLM Zephyr).
        case zephyr
        /// Zephyr with the Llama/Mistral end-of-sequence `</s>` closing each turn, which is what templates writing
        /// `eos_token` produce for TinyLlama-1.1B-Chat and zephyr-7b-beta. llama.cpp misreads those as GLM-Edge.
        case zephyrEOS = "zephyr-eos"
        /// `<|role|>\n…<|end|>\n`.
        case phi3
        /// `<start_of_turn>user\n…<end_of_turn>\n`, "model" for assistant; content trimmed and system messages
        /// merged into the next user turn, since Gemma has no system role.
        case gemma
    }

    public let family: Family
    /// Default system message inserted when the conversation does not start with one (SmolLM2's template does this).
    public let defaultSystemMessage: String?

    public init(family: Family, defaultSystemMessage: String? = nil) {
        self.family = family
        self.defaultSystemMessage = defaultSystemMessage
    }

    /// Renders `messages` into prompt segments.
    ///
    /// As in llama.cpp, the Llama 2 and Mistral families ignore `addGenerationPrompt`: their prompt already ends
    /// in `[/INST]`, which is where the assistant answers. Role order is not enforced, again as llama.cpp.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> [PromptSegment] {
        guard !messages.isEmpty else { throw ChatTemplateError.emptyConversation }
        var turns: [Turn] = []
        for message in messages {
            guard let role = Role(rawValue: message.role) else { throw ChatTemplateError.invalidRole(message.role) }
            turns.append(Turn(role: role, content: message.content))
        }
        if let defaultSystemMessage, turns[0].role != .system {
            turns.insert(Turn(role: .system, content: defaultSystemMessage), at: 0)
        }

        var prompt = PromptBuilder()
        switch family {
        case .chatml:
            renderTagged(turns, into: &prompt, open: { "<|im_start|>\($0)\n" }, close: "<|im_end|>\n",
                         generation: addGenerationPrompt ? "<|im_start|>assistant\n" : nil)
        case .phi3:
            renderTagged(turns, into: &prompt, open: { "<|\($0)|>\n" }, close: "<|end|>\n",
                         generation: addGenerationPrompt ? "<|assistant|>\n" : nil)
        case .zephyr, .zephyrEOS:
            let close = family == .zephyr ? "<|endoftext|>\n" : "</s>\n"
            renderTagged(turns, into: &prompt, open: { "<|\($0)|>\n" }, close: close,
                         generation: addGenerationPrompt ? "<|assistant|>\n" : nil)
        case .llama3:
            renderTagged(turns, into: &prompt, open: { "<|start_header_id|>\($0)<|end_header_id|>\n\n" },
                         close: "<|eot_id|>", trim: true,
                         generation: addGenerationPrompt ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : nil)
        case .gemma:
            renderGemma(turns, into: &prompt, addGenerationPrompt: addGenerationPrompt)
        case .llama2, .llama2System, .llama2SystemBOS, .llama2SystemStrip:
            renderLlama2(turns, into: &prompt)
        case .mistralV1, .mistralV3, .mistralV3Tekken:
            renderMistral(turns, into: &prompt)
        case .mistralV7, .mistralV7Tekken:
            renderMistralV7(turns, into: &prompt)
        }
        return prompt.segments
    }

    /// Convenience: segments joined into one string.
    public func renderText(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        try render(messages, addGenerationPrompt: addGenerationPrompt).map(\.text).joined()
    }

    // MARK: - Families

    /// Every turn as open(role) + content + close: ChatML, Phi-3, Zephyr, Llama 3.
    private func renderTagged(
        _ turns: [Turn], into prompt: inout PromptBuilder, open: (String) -> String, close: String,
        trim: Bool = false, generation: String?
    ) {
        for turn in turns {
            prompt.template(open(turn.role.rawValue))
            prompt.content(trim ? Self.trimmed(turn.content) : Substring(turn.content))
            prompt.template(close)
        }
        if let generation { prompt.template(generation) }
    }

    private func renderGemma(_ turns: [Turn], into prompt: inout PromptBuilder, addGenerationPrompt: Bool) {
        // Pending system text, written at the top of the next user turn (llama.cpp concatenates several as is).
        var system = ""
        for turn in turns {
            switch turn.role {
            case .system:
                system += Self.trimmed(turn.content)
            case .user:
                prompt.template("<start_of_turn>user\n")
                if !system.isEmpty {
                    prompt.content(system)
                    prompt.template("\n\n")
                    system = ""
                }
                prompt.content(Self.trimmed(turn.content))
                prompt.template("<end_of_turn>\n")
            case .assistant:
                prompt.template("<start_of_turn>model\n")
                prompt.content(Self.trimmed(turn.content))
                prompt.template("<end_of_turn>\n")
            }
        }
        if addGenerationPrompt { prompt.template("<start_of_turn>model\n") }
    }

    private func renderLlama2(_ turns: [Turn], into prompt: inout PromptBuilder) {
        let systemBlock = family != .llama2
        let strip = family == .llama2SystemStrip
        // The first `[INST]` gets no `<s>`: the tokenizer adds BOS at the very start.
        prompt.template("[INST] ")
        var insideTurn = true
        for turn in turns {
            let text = strip ? Self.trimmed(turn.content) : Substring(turn.content)
            if !insideTurn {
                prompt.template(family == .llama2SystemBOS ? "<s>[INST] " : "[INST] ")
                insideTurn = true
            }
            switch turn.role {
            case .system where systemBlock:
                prompt.template("<<SYS>>\n")
                prompt.content(text)
                prompt.template("\n<</SYS>>\n\n")
            case .system:
                prompt.content(text)
                prompt.template("\n")
            case .user:
                prompt.content(text)
                prompt.template(" [/INST]")
            case .assistant:
                prompt.content(text)
                prompt.template("</s>")
                insideTurn = false
            }
        }
    }

    private func renderMistral(_ turns: [Turn], into prompt: inout PromptBuilder) {
        let leading = family == .mistralV1 ? " " : ""
        let trailing = family == .mistralV3Tekken ? "" : " "
        var insideTurn = false
        for turn in turns {
            if !insideTurn {
                prompt.template(leading + "[INST]" + trailing)
                insideTurn = true
            }
            switch turn.role {
            case .system:
                prompt.content(turn.content)
                prompt.template("\n\n")
            case .user:
                prompt.content(turn.content)
                prompt.template(leading + "[/INST]")
            case .assistant:
                prompt.template(trailing)
                prompt.content(family == .mistralV3 ? Self.trimmed(turn.content) : Substring(turn.content))
                prompt.template("</s>")
                insideTurn = false
            }
        }
    }

    private func renderMistralV7(_ turns: [Turn], into prompt: inout PromptBuilder) {
        let space = family == .mistralV7 ? " " : ""
        for turn in turns {
            switch turn.role {
            case .system:
                prompt.template("[SYSTEM_PROMPT]" + space)
                prompt.content(turn.content)
                prompt.template("[/SYSTEM_PROMPT]")
            case .user:
                prompt.template("[INST]" + space)
                prompt.content(turn.content)
                prompt.template("[/INST]")
            case .assistant:
                prompt.template(space)
                prompt.content(turn.content)
                prompt.template("</s>")
            }
        }
    }

    // MARK: - Helpers

    private enum Role: String {
        case system, user, assistant
    }

    private struct Turn {
        var role: Role
        var content: String
    }

    /// Trims what C's `isspace` calls white space, as llama.cpp's `trim` does (so not Unicode spaces).
    static func trimmed(_ text: String) -> Substring {
        func isSpace(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar {
            case " ", "\t", "\n", "\u{0B}", "\u{0C}", "\r": true
            default: false
            }
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isSpace($0) }),
              let last = scalars.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return Substring(scalars[first...last])
    }
}

/// Collects segments: adjacent template text is merged, content always stands alone, empty text is dropped.
private struct PromptBuilder {
    private(set) var segments: [PromptSegment] = []

    mutating func template(_ text: String) {
        guard !text.isEmpty else { return }
        if case .template(let previous)? = segments.last {
            segments[segments.count - 1] = .template(previous + text)
        } else {
            segments.append(.template(text))
        }
    }

    mutating func content(_ text: some StringProtocol) {
        guard !text.isEmpty else { return }
        segments.append(.content(String(text)))
    }
}
