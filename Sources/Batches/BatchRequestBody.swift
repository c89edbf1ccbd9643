import ScribeCore
import Engine

/// The two OpenAI endpoints a batch line may name.
public enum BatchEndpoint: String, Sendable, CaseIterable {
    case chatCompletions = "/v1/chat/completions"
    case completions = "/v1/completions"

    /// `max_tokens` when a line gives none. OpenAI's completions default is 16; its chat
    /// default is "until the context is full", which on a CPU would let one line hold a
    /// worker for minutes, so chat gets a generous fixed bound instead.
    public var defaultMaxTokens: Int {
        switch self {
        case .chatCompletions: 1024
        case .completions: 16
        }
    }
}

/// A line's `body` as a job: its input and its `params` (the SQL contract's names).
public struct BatchRequestBody: Sendable, Equatable {
    public var prompt: String?
    /// A JSON array of `{"role", "content"}` objects with string contents.
    public var messagesJSON: String?
    public var paramsJSON: String
    /// The `model` the line names, recorded for the batch and echoed in responses.
    public var model: String?
    public var params: SamplingParams

    /// Why a body was refused; `param` names the field (`body.temperature`).
    public struct Problem: Error, Sendable, Equatable {
        public var message: String
        public var param: String?
    }

    /// Sampling fields passed through under the same name (OpenAI's, plus vLLM's extras).
    static let samplingFields: Set<String> = [
        "temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty", "logit_bias", "n",
        "max_tokens", "top_k", "min_p", "repetition_penalty", "min_tokens", "ignore_eos", "stop_token_ids",
        "response_format", "structured_outputs", "choice_logprobs",
    ]

    /// Fields OpenAI accepts that change nothing about the generated text: accepted and
    /// ignored when set to the value that asks for nothing Scribe lacks.
    static let harmlessFields: Set<String> = [
        "user", "store", "metadata", "service_tier", "parallel_tool_calls", "prompt_cache_key", "safety_identifier",
    ]

    /// OpenAI features Scribe does not have; a line asking for one is refused by name
    /// rather than answered without it.
    static let unsupportedFields: [String: String] = [
        "functions": "function calling", "function_call": "function calling", "audio": "audio output",
        "prediction": "predicted outputs", "web_search_options": "web search", "reasoning_effort": "reasoning models",
        "verbosity": "verbosity control", "logit_bias_tokens": "logit_bias_tokens",
    ]

    /// Maps one line's `body` for `endpoint`.
    public static func parse(_ body: [String: JSONValue], endpoint: BatchEndpoint) throws(Problem) -> BatchRequestBody {
        var compiled: Set<String> = []
        return try parse(body, endpoint: endpoint, compiled: &compiled)
    }

    /// Maps one line's `body`; `compiled` holds the keys of constraints already compiled
    /// for earlier lines (a file's lines mostly share one schema: compiled once).
    static func parse(_ body: [String: JSONValue], endpoint: BatchEndpoint,
                      compiled: inout Set<String>) throws(Problem) -> BatchRequestBody {
        var params: [String: JSONValue] = [:]
        var prompt: String?
        var messages: JSONValue?
        var model: String?
        for key in body.keys.sorted() {
            let value = body[key]!
            let field = "body." + key
            switch key {
            case "model":
                guard case .string(let name) = value else { throw Problem(message: "\(field) must be a string", param: field) }
                model = name
            case "messages" where endpoint == .chatCompletions:
                messages = try chatMessages(value)
            case "prompt" where endpoint == .completions:
                prompt = try completionPrompt(value)
            case _ where samplingFields.contains(key):
                params[key] = value
            case "max_completion_tokens":
                guard value == .null || (value.intValue ?? 0) >= 1 else {
                    throw Problem(message: "\(field) must be an integer >= 1, got \(value.summary)", param: field)
                }
                if value != .null { params["max_completion_tokens"] = value }
            case "logprobs", "top_logprobs":
                continue  // below, together
            case _ where harmlessFields.contains(key):
                continue
            default:
                try checkAskingForNothing(key, value, body: body)
            }
        }
        try mapLogprobs(body, endpoint: endpoint, into: &params)
        if let alias = params.removeValue(forKey: "max_completion_tokens") {
            if let given = params["max_tokens"], given != .null, given != alias {
                throw Problem(
                    message: "body.max_tokens and body.max_completion_tokens differ (\(given.summary) and \(alias.summary)); give one",
                    param: "body.max_completion_tokens")
            }
            params["max_tokens"] = alias
        }
        if params["max_tokens"] == nil || params["max_tokens"] == .null {
            params["max_tokens"] = .integer(Int64(endpoint.defaultMaxTokens))
        }
        switch endpoint {
        case .chatCompletions where messages == nil:
            throw Problem(message: "body.messages is missing: a chat completion needs messages", param: "body.messages")
        case .completions where prompt == nil:
            throw Problem(message: "body.prompt is missing: a completion needs a prompt", param: "body.prompt")
        default: break
        }
        // The job contract the INSERT checks, on the job this line becomes: a line accepted
        // here never makes the batch's INSERT fail.
        let parsed: SamplingParams
        do {
            parsed = try JobContract.params(.object(params), fieldPrefix: "body.")
        } catch {
            throw Problem(message: error.message, param: error.field)
        }
        // What only compiling finds (a grammar's syntax, bounds no value meets) is refused
        // here too, before anything is enqueued, rather than failing the job at claim.
        if let constraint = parsed.constraint, !compiled.contains(constraint.key) {
            do {
                _ = try constraint.grammar()
            } catch {
                throw Problem(message: error.message, param: error.field)
            }
            compiled.insert(constraint.key)
        }
        do {
            if let prompt { _ = try JobContract.prompt(prompt, field: "body.prompt") }
            if let messages { _ = try JobContract.messages(messages, field: "body.messages") }
        } catch {
            throw Problem(message: error.description, param: JobContract.field(of: error.description))
        }
        return BatchRequestBody(
            prompt: prompt, messagesJSON: messages.map(\.jsonText), paramsJSON: JSONValue.object(params).jsonText,
            model: model, params: parsed)
    }

    /// `messages` with every content made a string (text parts joined by newlines, as
    /// vLLM does) and `developer` read as `system`. Tool turns and non-text parts are refused.
    static func chatMessages(_ value: JSONValue) throws(Problem) -> JSONValue {
        guard case .array(let items) = value, !items.isEmpty else {
            throw Problem(message: "body.messages must be a non-empty array of {\"role\", \"content\"} objects",
                          param: "body.messages")
        }
        var messages: [JSONValue] = []
        for (index, item) in items.enumerated() {
            let field = "body.messages[\(index)]"
            guard case .object(let message) = item, case .string(var role)? = message["role"] else {
                throw Problem(message: "\(field) must be an object with a string role", param: field)
            }
            if role == "developer" { role = "system" }
            guard ["system", "user", "assistant"].contains(role) else {
                throw Problem(message: "\(field).role \"\(role)\" is not supported (system, developer, user, assistant)",
                              param: field + ".role")
            }
            for key in ["tool_calls", "function_call", "audio"] where (message[key] ?? .null) != .null {
                throw Problem(message: "\(field).\(key) is not supported: Scribe has no tool calling", param: "\(field).\(key)")
            }
            let content: String
            switch message["content"] {
            case .string(let text)?:
                content = text
            case .array(let parts)?:
                var texts: [String] = []
                for (partIndex, part) in parts.enumerated() {
                    guard case .object(let object) = part, object["type"] == .string("text"),
                          case .string(let text)? = object["text"] else {
                        throw Problem(message: "\(field).content[\(partIndex)] must be a {\"type\": \"text\", \"text\": …} part; only text is supported",
                                      param: "\(field).content[\(partIndex)]")
                    }
                    texts.append(text)
                }
                content = texts.joined(separator: "\n")
            default:
                throw Problem(message: "\(field).content must be a string or an array of text parts", param: field + ".content")
            }
            messages.append(.object(["role": .string(role), "content": .string(content)]))
        }
        return .array(messages)
    }

    /// A completion's `prompt`: a string, or an array holding one string.
    static func completionPrompt(_ value: JSONValue) throws(Problem) -> String {
        switch value {
        case .string(let text):
            return text
        case .array(let items) where items.count == 1:
            if case .string(let text) = items[0] { return text }
            throw Problem(message: "body.prompt given as token ids is not supported; give the text", param: "body.prompt")
        case .array(let items) where items.count > 1:
            if items.allSatisfy({ $0.intValue != nil }) {
                throw Problem(message: "body.prompt given as token ids is not supported; give the text", param: "body.prompt")
            }
            throw Problem(message: "body.prompt holds \(items.count) prompts; put each on a line of its own", param: "body.prompt")
        default:
            throw Problem(message: "body.prompt must be a string", param: "body.prompt")
        }
    }

    /// Chat: `logprobs` true or false with `top_logprobs` 0…20. Completions: `logprobs`
    /// an integer (OpenAI allows up to 5, Scribe up to 20). Both become `params.logprobs`.
    static func mapLogprobs(_ body: [String: JSONValue], endpoint: BatchEndpoint,
                            into params: inout [String: JSONValue]) throws(Problem) {
        let logprobs = body["logprobs"] ?? .null
        let top = body["top_logprobs"] ?? .null
        switch endpoint {
        case .chatCompletions:
            switch logprobs {
            case .bool(true):
                params["logprobs"] = top == .null ? .integer(0) : top
            case .bool(false), .null:
                guard top == .null else {
                    throw Problem(message: "body.top_logprobs needs body.logprobs set to true", param: "body.top_logprobs")
                }
            default:
                throw Problem(message: "body.logprobs must be true or false, got \(logprobs.summary)", param: "body.logprobs")
            }
        case .completions:
            guard top == .null else {
                throw Problem(message: "body.top_logprobs is a chat field; completions take body.logprobs as a number",
                              param: "body.top_logprobs")
            }
            if logprobs != .null { params["logprobs"] = logprobs }
        }
    }

    /// Fields that are fine only when they ask for nothing (`stream: false`,
    /// `tools: []`, …); everything else is refused.
    static func checkAskingForNothing(_ key: String, _ value: JSONValue, body: [String: JSONValue]) throws(Problem) {
        let field = "body." + key
        let harmless: Bool
        switch key {
        case "stream":
            guard value == .null || value == .bool(false) else {
                throw Problem(message: "body.stream must be false or absent: batch results are written whole, not streamed",
                              param: field)
            }
            harmless = true
        case "stream_options", "suffix":
            harmless = value == .null || value == .string("")
        case "echo":
            harmless = value == .null || value == .bool(false)
        case "best_of":
            harmless = value == .null || value == .integer(1) || value == (body["n"] ?? .integer(1))
        case "tools", "tool_choice":
            harmless = value == .null || value == .array([]) || value == .string("none") || value == .string("auto")
        case "modalities":
            harmless = value == .null || value == .array([.string("text")])
        case "messages", "prompt":
            throw Problem(message: "\(field) does not belong in a \(key == "prompt" ? "chat completion" : "completion") request",
                          param: field)
        default:
            if let feature = unsupportedFields[key] {
                throw Problem(message: "\(field) is not supported: Scribe has no \(feature)", param: field)
            }
            var message = "unknown field \(field)"
            let known = samplingFields.union(harmlessFields).union(["model", "messages", "prompt", "logprobs", "top_logprobs",
                                                                    "max_completion_tokens"])
            if key.count >= 4, let near = known.sorted().first(where: { SamplingParams.editDistance($0, key) <= 2 }) {
                message += " (did you mean body.\(near)?)"
            }
            throw Problem(message: message, param: field)
        }
        guard harmless else {
            throw Problem(message: "\(field) = \(value.summary) is not supported", param: field)
        }
    }
}
