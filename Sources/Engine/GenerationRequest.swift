import ScribeCore
import Inference

/// What to generate from.
public enum PromptInput: Sendable, Equatable {
    /// Raw text; special-token text in it is recognised.
    case text(String)
    /// A conversation, rendered with the model's chat template.
    case messages([ChatMessage])
    /// Already tokenized.
    case tokens([TokenID])
}

/// One request: a prompt and its sampling parameters (`n` completions).
public struct GenerationRequest: Sendable {
    /// The caller's key: a job id, a line number. Unique among requests in flight.
    public var id: String
    public var prompt: PromptInput
    public var params: SamplingParams

    public init(id: String, prompt: PromptInput, params: SamplingParams) {
        self.id = id
        self.prompt = prompt
        self.params = params
    }
}

public enum FinishReason: String, Sendable, Codable {
    /// An end-of-generation token, a stop token id or a stop string.
    case stop
    /// `max_tokens` reached.
    case length
    case cancelled
}

/// One of a request's `n` completions.
public struct Completion: Sendable {
    public var index: Int
    public var text: String
    /// Every generated token, the one that stopped generation included.
    public var tokenIDs: [TokenID]
    public var finishReason: FinishReason
    /// The stop string, or the stop token's text, when `finishReason` is `stop`.
    public var stopReason: String?
    /// Per generated token, when the request asked for `logprobs`.
    public var logprobs: [SampledToken]?
    /// With `choice_logprobs`: every choice, in the constraint's order, with its score.
    public var choiceScores: [ChoiceScore]?
}

/// Seconds from the request's submission.
public struct GenerationTimings: Sendable, Equatable {
    /// Until its prompt was first scheduled.
    public var queued: Double = 0
    /// Until its first token.
    public var firstToken: Double = 0
    public var total: Double = 0
}

/// Why a request produced nothing: it could not be run as given (`invalidInput`, the
/// default), or the engine failed it (`internal`: worth another attempt).
public struct GenerationError: ClassifiedError, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public var kind: FailureKind

    public init(_ description: String, kind: FailureKind = .invalidInput) {
        self.description = description
        self.kind = kind
    }
}

/// A finished request.
public struct GenerationResult: Sendable {
    public var requestID: String
    /// The completions in index order, or why the request failed.
    public var outcome: Result<[Completion], GenerationError>
    public var promptTokens: Int
    /// Prompt tokens whose cache came from an earlier request with the same prefix.
    public var cachedPromptTokens: Int
    public var completionTokens: Int { (try? outcome.get())?.reduce(0) { $0 + $1.tokenIDs.count } ?? 0 }
    public var timings: GenerationTimings
}
