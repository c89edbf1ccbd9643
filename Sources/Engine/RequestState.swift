import ScribeCore
import Foundation
import Inference
import Constraints

/// A request while it runs: its prompt, its completions so far, its clock readings.
final class RequestState {
    let request: GenerationRequest
    let submittedAt: ContinuousClock.Instant
    var promptTokens: [TokenID] = []
    var completions: [Completion?]
    /// Sequences still generating.
    var live: Set<SequenceID> = []
    /// Completions 1..<n, forked from the first once its prompt is computed.
    var pendingForks = 0
    var queuedUntil: ContinuousClock.Instant?
    var firstTokenAt: ContinuousClock.Instant?
    var cachedPromptTokens = 0
    /// With `choice_logprobs`: each choice's tokens; completion `i` scores choice `i`.
    var choiceTokens: [[TokenID]]?
    /// The request's constraint compiled for the model, shared by its `n` sequences.
    var constraint: CompiledConstraint?

    init(request: GenerationRequest, submittedAt: ContinuousClock.Instant) {
        self.request = request
        self.submittedAt = submittedAt
        completions = Array(repeating: nil, count: max(1, request.params.n))
    }

    /// The completions to report: as generated, or for `choice_logprobs` the most probable
    /// choice (the first of equals) with every choice's score.
    func finalCompletions() -> [Completion] {
        let completions = completions.map { $0! }
        guard choiceTokens != nil else { return completions }
        let scores = completions.compactMap { $0.choiceScores?.first }
        guard scores.count == completions.count, completions.allSatisfy({ $0.finishReason == .stop }) else {
            return [Completion(index: 0, text: "", tokenIDs: [], finishReason: .cancelled)]
        }
        let top = scores.map(\.logprob).max()!
        let total = scores.reduce(0.0) { $0 + exp($1.logprob - top) }
        let normalised = scores.map { ChoiceScore(choice: $0.choice, probability: exp($0.logprob - top) / total, logprob: $0.logprob) }
        var best = 0
        for index in normalised.indices where normalised[index].probability > normalised[best].probability { best = index }
        var chosen = completions[best]
        chosen.index = 0
        chosen.choiceScores = normalised
        if request.params.logprobs == nil { chosen.logprobs = nil }
        return [chosen]
    }

    func result(_ outcome: Result<[Completion], GenerationError>, now: ContinuousClock.Instant) -> GenerationResult {
        func seconds(_ instant: ContinuousClock.Instant?) -> Double {
            guard let instant else { return 0 }
            let (whole, fraction) = (instant - submittedAt).components
            return Double(whole) + Double(fraction) * 1e-18
        }
        return GenerationResult(
            requestID: request.id, outcome: outcome, promptTokens: promptTokens.count,
            cachedPromptTokens: cachedPromptTokens,
            timings: GenerationTimings(queued: seconds(queuedUntil), firstToken: seconds(firstTokenAt), total: seconds(now)))
    }
}

/// One completion while it generates: its sampler, and its text as it streams out.
final class SequenceState {
    let id: SequenceID
    let request: RequestState
    let index: Int
    private var sampler: SequenceSampler
    private var detokenizer: Detokenizer
    private var stopMatcher: StopMatcher
    private let tokenizer: Tokenizer
    private(set) var tokens: [TokenID] = []
    private var text = ""
    private var logprobs: [SampledToken]?
    private var pendingSample: SampledToken?
    private var ending: (FinishReason, String?)?

    init(id: SequenceID, request: RequestState, index: Int, sampler: SequenceSampler, tokenizer: Tokenizer) {
        self.id = id
        self.request = request
        self.index = index
        self.sampler = sampler
        self.tokenizer = tokenizer
        detokenizer = Detokenizer(tokenizer: tokenizer)
        // A scored choice is the choice's text whole: no stop string cuts it.
        stopMatcher = StopMatcher(stops: sampler.forced == nil ? sampler.params.stop : [])
        logprobs = sampler.params.logprobs == nil ? nil : []
    }

    /// Draws the next token from a logits row (which it overwrites); nil when the
    /// request's constraint allows no token here (a dead end).
    func sample(_ row: UnsafeMutableBufferPointer<Float>, workspace: borrowing SamplingWorkspace) -> TokenID? {
        guard let sampled = sampler.sample(logits: row, workspace: workspace) else { return nil }
        pendingSample = sampled
        return sampled.token
    }

    /// Adds the sampled token; true when the completion ends with it.
    func accept(_ token: TokenID) -> Bool {
        tokens.append(token)
        if let sample = pendingSample, logprobs != nil { logprobs?.append(sample) }
        pendingSample = nil
        if sampler.hasTakenEveryForcedToken {
            ending = (.stop, nil)
            text += detokenizer.append(token) + detokenizer.finish()
            return true
        }
        if sampler.isStopToken(token) {
            ending = (.stop, tokenizer.piece(token))
            text += stopMatcher.finish()
            return true
        }
        let chunk = detokenizer.append(token)
        let output = sampler.constraint == nil ? stopMatcher.consume(chunk)
            : stopMatcher.consume(chunk) { [text, sampler] before in sampler.acceptsAsOutput(text + before) }
        text += output.text
        if let stop = output.stop {
            ending = (.stop, stop)
            return true
        }
        if sampler.reachedMaxTokens {
            ending = (.length, nil)
            text += stopMatcher.consume(detokenizer.finish()).text + stopMatcher.finish()
            return true
        }
        return false
    }

    /// The completion as it stands; `reason` overrides how it ended (cancellation).
    func completion(_ reason: FinishReason? = nil, stopReason: String? = nil) -> Completion {
        let (finish, stop) = reason.map { ($0, stopReason) } ?? ending ?? (.length, nil)
        return Completion(index: index, text: text, tokenIDs: tokens, finishReason: finish,
                          stopReason: stop, logprobs: logprobs,
                          choiceScores: sampler.forced == nil ? nil : [ChoiceScore(choice: text, probability: 0, logprob: sampler.forcedLogprob)])
    }
}
