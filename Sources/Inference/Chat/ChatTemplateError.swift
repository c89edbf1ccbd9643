import ScribeCore

/// Why a chat template could not be chosen or a conversation could not be rendered; each message is a sentence
/// a job's submitter can act on.
public enum ChatTemplateError: ClassifiedError, CustomStringConvertible, Sendable, Equatable {
    /// The template source matched none of the known families; carries a short excerpt of it.
    case unknownTemplate(String)
    /// The template looks like a llama.cpp family that Scribe does not render (carries llama.cpp's name for it).
    case unsupportedFamily(String)
    /// A message's role is not "system", "user" or "assistant".
    case invalidRole(String)
    case emptyConversation

    public var description: String {
        let names = ChatTemplate.Family.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case .unknownTemplate(let excerpt):
            return "unrecognised chat template \"\(excerpt)\"; name a template family instead (\(names))"
        case .unsupportedFamily(let family):
            return "chat template looks like llama.cpp's \"\(family)\" family, which Scribe does not render; "
                + "name a template family instead (\(names))"
        case .invalidRole(let role):
            return "message role \"\(role)\" is not one of system, user, assistant"
        case .emptyConversation:
            return "the conversation has no messages"
        }
    }

    /// A conversation is the job's input; a template Scribe cannot render is the model's.
    public var kind: FailureKind {
        switch self {
        case .invalidRole, .emptyConversation: .invalidInput
        case .unknownTemplate, .unsupportedFamily: .internal
        }
    }

    /// The start of `source` on one line, for error messages.
    static func excerpt(of source: String, limit: Int = 60) -> String {
        var text = ""
        for character in source.prefix(limit) {
            switch character {
            case "\n", "\r\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default: text.append(character)
            }
        }
        return source.count > limit ? text + "…" : text
    }
}
