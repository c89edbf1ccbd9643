/// The end of one attempt, written back by `JobQueue.complete`.
public struct JobResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case succeeded
        /// Final failure (no retry); the message is stored in `error`.
        case failed(error: String)
        /// The worker stopped the sequence (after `scribe.cancel`); partial text is kept.
        case cancelled
    }

    public var id: Int64
    /// The fencing value from `ClaimedJob.attempt`.
    public var attempt: Int
    public var outcome: Outcome
    public var text: String?
    /// "stop", "length", "cancelled", ... as the engine reports it.
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// Stored as the `timings` JSON object (`{"prefill_ms": 12.5, ...}`); non-finite
    /// values are dropped (JSON cannot hold them).
    public var timings: [String: Double]
    /// Every completion, stored in `choices` when the job asked for `n` > 1 or logprobs;
    /// nil otherwise (`text` and `finishReason` are the one completion).
    public var choices: [JobChoice]?

    public init(
        id: Int64, attempt: Int, outcome: Outcome, text: String? = nil, finishReason: String? = nil,
        promptTokens: Int? = nil, completionTokens: Int? = nil, timings: [String: Double] = [:],
        choices: [JobChoice]? = nil
    ) {
        self.id = id
        self.attempt = attempt
        self.outcome = outcome
        self.text = text
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.timings = timings
        self.choices = choices
    }

    public var fence: JobAttempt { JobAttempt(id: id, attempt: attempt) }
}
