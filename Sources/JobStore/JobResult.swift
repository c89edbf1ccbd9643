/// The end of one attempt, written back by `JobQueue.complete`.
public struct JobResult: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
        case succeeded
        /// Final failure for the job's input (no retry): `error`, with `error_kind`
        /// `invalid_input`.
        case failed(error: String)
        /// The attempt failed for a reason of ours (`error_kind` `internal`): `queued` again
        /// after `scribe.retry_delay` while attempts remain, otherwise `failed`.
        case retry(error: String)
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

extension JobResult {
    /// The most a job's stored result may take (text, `choices` and logprobs, as JSON):
    /// far below PostgreSQL's 255 MB for one jsonb value, so results written together
    /// still fit, and a result that large is almost always a mistake in the params.
    public static let maxStoredBytes = 64 << 20

    /// About what the result takes as JSON, erring high: each token entry is counted with
    /// its text three times over (escapes) and four bytes per byte of its `bytes` array.
    /// Cheap, so it can be checked on every result before anything is encoded.
    public var estimatedStoredBytes: Int {
        func entry(_ token: String, _ bytes: [UInt8]) -> Int { 3 * token.utf8.count + 4 * bytes.count + 48 }
        var total = (text?.utf8.count ?? 0) * 2 + (finishReason?.utf8.count ?? 0) + 256
        for choice in choices ?? [] {
            total += choice.text.utf8.count * 2 + 64
            for token in choice.logprobs ?? [] {
                total += entry(token.token, token.bytes) + 16
                total += token.topLogprobs.reduce(0) { $0 + entry($1.token, $1.bytes) }
            }
        }
        return total
    }
}
