import ScribeCore
import Inference

extension PromptInput {
    /// `messages` as the JSON array of `{"role", "content"}` objects users write, within
    /// `JobContract`'s limits (other keys in a message are allowed and ignored).
    public static func messages(from value: JSONValue, field: String = "messages") throws(GenerationError) -> PromptInput {
        guard case .array(let items) = value, !items.isEmpty else {
            throw GenerationError("\(field) must be a non-empty array of {\"role\", \"content\"} objects")
        }
        guard items.count <= JobContract.maxMessages else {
            throw GenerationError("\(field) has \(items.count) entries; at most \(JobContract.maxMessages) are allowed")
        }
        var messages: [ChatMessage] = []
        var contentBytes = 0
        for (index, item) in items.enumerated() {
            guard case .object(let object) = item else {
                throw GenerationError("\(field)[\(index)] must be an object with string fields role and content")
            }
            guard case .string(let role)? = object["role"], (1...JobContract.maxRoleBytes).contains(role.utf8.count) else {
                throw GenerationError("\(field)[\(index)].role must be a string of 1 to \(JobContract.maxRoleBytes) bytes")
            }
            guard case .string(let content)? = object["content"] else {
                throw GenerationError("\(field)[\(index)].content must be a string")
            }
            contentBytes += content.utf8.count
            messages.append(ChatMessage(role: role, content: content))
        }
        guard contentBytes <= JobContract.maxPromptBytes else {
            throw GenerationError("\(field) content is \(contentBytes) bytes; at most \(JobContract.maxPromptBytes) are allowed")
        }
        return .messages(messages)
    }
}

extension GenerationRequest {
    /// A request from one JSON object holding `prompt` or `messages` next to the sampling
    /// parameters (a JSONL batch line). Fields in `ignoring` (such as `id`) are skipped.
    public static func parse(
        _ object: [String: JSONValue], id: String, ignoring: Set<String> = ["id"]
    ) throws(GenerationError) -> GenerationRequest {
        let prompt: PromptInput
        switch (object["prompt"], object["messages"]) {
        case (.string(let text)?, nil): prompt = .text(text)
        case (nil, let messages?): prompt = try .messages(from: messages)
        case (.some, .some): throw GenerationError("give either prompt or messages, not both")
        case (.some, nil): throw GenerationError("prompt must be a string")
        case (nil, nil): throw GenerationError("missing prompt or messages")
        }
        do {
            let params = try SamplingParams.parse(
                object: object, ignoring: ignoring.union(["prompt", "messages"]), fieldPrefix: "")
            return GenerationRequest(id: id, prompt: prompt, params: params)
        } catch {
            throw GenerationError(error.message)
        }
    }
}
