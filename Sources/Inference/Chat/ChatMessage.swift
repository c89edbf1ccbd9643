/// One turn of a conversation, as a job submits it: `role` is "system", "user" or "assistant".
public struct ChatMessage: Codable, Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }

    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: "system", content: content) }
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: "user", content: content) }
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: "assistant", content: content) }
}

/// A rendered prompt as segments: template text (special tokens such as "<|im_start|>" inside it must be parsed as
/// special tokens) vs. message content (tokenized as plain text, so a user's "<|im_end|>" cannot inject a control token).
///
/// For the tokenizer: split on special tokens found in `.template` text only, and tokenize the plain text between
/// two special tokens as one run, whichever segments it comes from. SentencePiece vocabularies (Llama 2, Mistral)
/// give different ids for "[INST] Hello" tokenized whole than for "[INST] " and "Hello" apart.
public enum PromptSegment: Sendable, Equatable {
    case template(String)
    case content(String)

    public var text: String {
        switch self {
        case .template(let text), .content(let text): text
        }
    }
}
