import ScribeCore
import Inference
import Constraints

/// What a job may ask for: every field's type, range and size, enforced the same way here
/// (at claim, at `scribe batch submit`, by `scribe generate`) and by the database at INSERT
/// (`Migrations/0030_job_contract.sql`, whose `scribe.job_limits()` holds these numbers
/// too). `JobContractParityTests` runs a corpus through both and fails on any
/// disagreement; `Migrations/README.md` has the table.
public enum JobContract {
    /// The prompt, or the contents of all messages together, in UTF-8 bytes.
    public static let maxPromptBytes = 1 << 20
    public static let maxMessages = 1024
    public static let maxRoleBytes = 64
    public static let maxN = 16
    public static let maxLogprobs = 20
    public static let maxMaxTokens = 1 << 20
    /// `n × max_tokens × (1 + logprobs)`: the tokens and alternatives a result may hold.
    public static let maxTokenEntries = 1 << 20
    public static let defaultMaxTokens = 16
    public static let maxStopStrings = 8
    public static let maxStopStringBytes = 256
    public static let maxStopTokenIDs = 64
    public static let maxLogitBiasEntries = 1024
    public static let maxTokenID = Int(Int32.max)
    public static let maxTemperature = 100.0
    public static let maxRepetitionPenalty = 100.0
    public static let maxAttempts = 100
    /// `priority` is within ±this.
    public static let maxPriority = 1_000_000
    public static let maxModelBytes = 256
    public static let maxMetadataBytes = 64 << 10
    public static let maxCallbackURLBytes = 2048

    /// Every limit under the name `scribe.job_limits()` gives it.
    public static let limits: [String: Double] = [
        "prompt_bytes": Double(maxPromptBytes), "messages": Double(maxMessages), "role_bytes": Double(maxRoleBytes),
        "n": Double(maxN), "logprobs": Double(maxLogprobs), "max_tokens": Double(maxMaxTokens),
        "token_entries": Double(maxTokenEntries), "default_max_tokens": Double(defaultMaxTokens),
        "stop_strings": Double(maxStopStrings), "stop_string_bytes": Double(maxStopStringBytes),
        "stop_token_ids": Double(maxStopTokenIDs), "logit_bias_entries": Double(maxLogitBiasEntries),
        "token_id": Double(maxTokenID), "temperature": maxTemperature, "repetition_penalty": maxRepetitionPenalty,
        "max_attempts": Double(maxAttempts), "priority": Double(maxPriority), "model_bytes": Double(maxModelBytes),
        "metadata_bytes": Double(maxMetadataBytes), "callback_url_bytes": Double(maxCallbackURLBytes),
        "schema_bytes": Double(OutputConstraint.maxSchemaBytes), "schema_name_bytes": Double(OutputConstraint.maxSchemaNameBytes),
        "schema_nesting": Double(JSONSchemaGrammar.maximumNesting), "schema_length": Double(JSONSchemaGrammar.maximumLength),
        "regex_bytes": Double(OutputConstraint.maxRegexBytes), "grammar_bytes": Double(OutputConstraint.maxGrammarBytes),
        "choices": Double(OutputConstraint.maxChoices), "choice_bytes": Double(OutputConstraint.maxChoiceBytes),
    ]

    /// A job's columns as users write them (`messagesJSON`, `paramsJSON`, `metadataJSON` as
    /// JSON text).
    public struct Job: Sendable, Equatable {
        public var prompt: String?
        public var messagesJSON: String?
        public var paramsJSON: String
        public var maxAttempts = 3
        public var priority = 0
        public var model: String?
        public var metadataJSON: String?
        public var callbackURL: String?

        public init(prompt: String? = nil, messagesJSON: String? = nil, paramsJSON: String = "{}",
                    maxAttempts: Int = 3, priority: Int = 0, model: String? = nil,
                    metadataJSON: String? = nil, callbackURL: String? = nil) {
            self.prompt = prompt
            self.messagesJSON = messagesJSON
            self.paramsJSON = paramsJSON
            self.maxAttempts = maxAttempts
            self.priority = priority
            self.model = model
            self.metadataJSON = metadataJSON
            self.callbackURL = callbackURL
        }
    }

    /// Why the database would refuse the job, naming the field, or nil: input, then
    /// params, then the other columns, as `scribe.job_problem` checks them.
    public static func problem(_ job: Job) -> String? {
        do {
            _ = try prompt(prompt: job.prompt, messagesJSON: job.messagesJSON)
        } catch {
            return error.description
        }
        do {
            _ = try params(json: job.paramsJSON)
        } catch {
            return error.message
        }
        return columnsProblem(job)
    }

    /// The field a problem names: `params.top_p` of "params.top_p must be …",
    /// `params.foo` of "unknown field params.foo", `params` of "params: n × …".
    public static func field(of problem: String) -> String {
        let text = problem.hasPrefix("unknown field ") ? String(problem.dropFirst(14)) : problem
        return String(text.prefix { $0 != " " && $0 != ":" })
    }

    /// The prompt of a job with exactly one of `prompt` and `messages` (JSON text), checked.
    public static func prompt(prompt: String?, messagesJSON: String?) throws(GenerationError) -> PromptInput {
        switch (prompt, messagesJSON) {
        case (let text?, nil):
            return try self.prompt(text)
        case (nil, let json?):
            let value: JSONValue
            do {
                value = try JSONValue.parse(utf8: json.utf8)
            } catch {
                throw GenerationError("messages is not valid JSON: \(error)")
            }
            return try messages(value)
        default:
            throw GenerationError("a job needs exactly one of prompt or messages")
        }
    }

    /// A completion prompt, checked.
    public static func prompt(_ text: String, field: String = "prompt") throws(GenerationError) -> PromptInput {
        if text.utf8.contains(0) { throw nulError(field) }
        guard text.utf8.count <= maxPromptBytes else {
            throw GenerationError("\(field) is \(text.utf8.count) bytes; at most \(maxPromptBytes) are allowed")
        }
        return .text(text)
    }

    /// Chat messages, checked.
    public static func messages(_ value: JSONValue, field: String = "messages") throws(GenerationError) -> PromptInput {
        if let path = value.pathOfNUL(at: field) { throw nulError(path) }
        return try PromptInput.messages(from: value, field: field)
    }

    /// A job's params as JSON text, checked (see `params(_:fieldPrefix:)`).
    public static func params(json: String, fieldPrefix: String = "params.") throws(SamplingParamsError) -> SamplingParams {
        try params(try SamplingParams.value(json: json, fieldPrefix: fieldPrefix), fieldPrefix: fieldPrefix)
    }

    /// A job's params, checked, with the bound on the result's size.
    public static func params(_ value: JSONValue, fieldPrefix: String = "params.") throws(SamplingParamsError) -> SamplingParams {
        let whole = String(fieldPrefix.dropLast())
        if let path = value.pathOfNUL(at: whole) {
            throw SamplingParamsError(field: path, message: nulError(path).description)
        }
        let params = try SamplingParams.parse(value, fieldPrefix: fieldPrefix)
        let entries = params.n * params.maxTokens * (1 + (params.logprobs ?? 0))
        guard entries <= maxTokenEntries else {
            throw SamplingParamsError(field: whole, message: "\(whole): n × max_tokens × (1 + logprobs) must be at most "
                + "\(maxTokenEntries) (tokens and logprobs a result may hold)")
        }
        return params
    }

    static func columnsProblem(_ job: Job) -> String? {
        guard (1...maxAttempts).contains(job.maxAttempts) else {
            return "max_attempts must be in [1, \(maxAttempts)], got \(job.maxAttempts)"
        }
        guard abs(job.priority) <= maxPriority else {
            return "priority must be in [-\(maxPriority), \(maxPriority)], got \(job.priority)"
        }
        if let model = job.model, !(1...maxModelBytes).contains(model.utf8.count) || model.utf8.contains(0) {
            return "model must be 1 to \(maxModelBytes) bytes (or NULL for any model)"
        }
        if let metadata = job.metadataJSON {
            guard let value = try? JSONValue.parse(utf8: metadata.utf8), case .object = value else {
                return "metadata must be a JSON object"
            }
            if let path = value.pathOfNUL(at: "metadata") { return nulError(path).description }
            // Sized as PostgreSQL prints jsonb: `", "` and `": "` between entries.
            let size = value.postgresText.utf8.count
            guard size <= maxMetadataBytes else {
                return "metadata is \(size) bytes as JSON; at most \(maxMetadataBytes) are allowed"
            }
        }
        if let url = job.callbackURL, url.utf8.count > maxCallbackURLBytes {
            return "callback_url is \(url.utf8.count) bytes; at most \(maxCallbackURLBytes) are allowed"
        }
        return nil
    }

    private static func nulError(_ path: String) -> GenerationError {
        GenerationError("\(path) contains a NUL character (\\u0000), which PostgreSQL cannot store")
    }
}

extension JSONValue {
    /// The path of the first string (or key) holding U+0000, which jsonb refuses.
    func pathOfNUL(at path: String) -> String? {
        switch self {
        case .string(let s): return s.utf8.contains(0) ? path : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = item.pathOfNUL(at: "\(path)[\(index)]") { return found }
            }
            return nil
        case .object(let object):
            for key in object.keys.sorted() {
                if key.utf8.contains(0) { return path }
                if let found = object[key]!.pathOfNUL(at: "\(path).\(key)") { return found }
            }
            return nil
        default: return nil
        }
    }
}
