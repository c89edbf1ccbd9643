import Foundation
import Inference

/// Everything one sequence needs to turn its logits rows into tokens: its sampler chain
/// (with the penalty counts and the random stream), logprobs, and which tokens end it.
///
/// A token depends only on the row and this value's state, never on other sequences in the
/// batch. The engine keeps one per running completion (`n` per request) and carries it
/// through preemption unchanged: recomputing the cache must not redraw tokens.
public struct SequenceSampler: Sendable {
    public let params: SamplingParams
    public private(set) var chain: SamplerChain
    /// Tokens sampled so far.
    public private(set) var generatedCount = 0
    private let stopTokens: Set<TokenID>
    /// Where the output stands in its constraint, if the request has one.
    public private(set) var constraint: ConstraintState?
    private let ends: [TokenID]
    /// With `choice_logprobs`: the tokens of the choice this sequence scores, taken in
    /// order whatever the logits say.
    public let forced: [TokenID]?
    /// The sum of the forced tokens' raw logprobs so far.
    public private(set) var forcedLogprob = 0.0

    /// - Parameters:
    ///   - vocabularySize: the model's; token ids in the params are checked against it.
    ///   - endOfGeneration: the model's end-of-generation ids (EOS, EOT, …).
    ///   - prompt: the prompt's tokens (the repetition penalty covers them).
    ///   - completionIndex: which of the `n` completions, 0-based; selects the seed `seed + index`.
    ///   - constraint: the request's constraint compiled for this model (`params.constraint`).
    /// - Throws: ``SamplingParamsError`` if `stop_token_ids` or `logit_bias` name ids outside the vocabulary.
    public init(
        params: SamplingParams, vocabularySize: Int, endOfGeneration: [TokenID],
        prompt: some Sequence<TokenID> = [], completionIndex: Int = 0, constraint: CompiledConstraint? = nil,
        forced: [TokenID]? = nil
    ) throws(SamplingParamsError) {
        try params.validate(vocabularySize: vocabularySize)
        self.params = params
        chain = SamplerChain(
            params: params, endOfGeneration: endOfGeneration, prompt: prompt, completionIndex: completionIndex)
        stopTokens = Set(params.stopTokenIDs).union(params.ignoreEOS ? [] : endOfGeneration)
        self.constraint = forced == nil ? constraint.map(ConstraintState.init) : nil
        ends = stopTokens.sorted()
        self.forced = forced
    }

    /// Whether every forced token has been taken.
    public var hasTakenEveryForcedToken: Bool { forced.map { generatedCount >= $0.count } ?? false }

    /// Whether the text as a whole is what the constraint accepts (always, without one):
    /// a stop string ends the output only after a complete value.
    public func acceptsAsOutput(_ text: String) -> Bool {
        constraint.map { $0.compiled.accepts(text) } ?? true
    }

    /// The seed of this sequence's random stream, random if the request had none; `nil` when greedy.
    public var seed: UInt64? { chain.seed }

    /// Whether generating `token` ends the sequence (finish reason `stop`): a stop token id,
    /// or end-of-generation unless `ignore_eos`. The token's text is not part of the output.
    public func isStopToken(_ token: TokenID) -> Bool {
        stopTokens.contains(token)
    }

    /// Whether `max_tokens` tokens have been generated (finish reason `length`).
    /// (A scored choice is taken whole instead: `hasTakenEveryForcedToken`.)
    public var reachedMaxTokens: Bool { forced == nil && generatedCount >= params.maxTokens }

    /// Draws the next token from a logits row and records it; nil (and nothing recorded)
    /// only under a constraint that allows no token here while the output is not complete
    /// (a grammar this vocabulary cannot go on with): the request cannot be finished.
    ///
    /// The row is used as working memory and holds garbage afterwards.
    public mutating func sample(
        logits row: UnsafeMutableBufferPointer<Float>, workspace: borrowing SamplingWorkspace
    ) -> SampledToken? {
        var logSumExp: Float = 0
        var top: [TokenLogprob] = []
        let wantsLogprobs = params.logprobs != nil || forced != nil
        if wantsLogprobs {
            // Raw log-softmax: before any stage touches the row (vLLM's default).
            let raw = workspace.raw.baseAddress!
            raw.update(from: row.baseAddress!, count: row.count)
            let m = VectorMath.max(raw, row.count)
            logSumExp = m + Float(log(VectorMath.sumExpShifted(raw, row.count, minus: m)))
            top = params.logprobs.map { TokenLogprob.top($0, of: raw, count: row.count, logSumExp: logSumExp) } ?? []
        }
        if let forced {
            let token = forced[generatedCount]
            let logprob = workspace.raw[Int(token)] - logSumExp
            forcedLogprob += Double(logprob)
            generatedCount += 1
            return SampledToken(token: token, logprob: logprob, topLogprobs: top)
        }
        // Before every stage, as vLLM applies its grammar bitmask: no stage can bring a
        // refused token back, and the draw sees only the allowed ones.
        if let constraint, !constraint.mask(row, ends: ends) { return nil }
        var candidates = TokenCandidates(row: row, workspace: workspace)
        chain.apply(to: &candidates)
        // Every chain ends with a selecting stage and narrowing never empties the set.
        let token = candidates.id(at: candidates.selected ?? 0)
        chain.accept(token)
        if !stopTokens.contains(token) { constraint?.accept(token) }
        generatedCount += 1
        guard wantsLogprobs else { return SampledToken(token: token) }
        return SampledToken(token: token, logprob: workspace.raw[Int(token)] - logSumExp, topLogprobs: top)
    }

    /// Convenience for tests and one-off use: samples a copy of `logits` with a fresh
    /// workspace (nil as `sample(logits:workspace:)` is).
    public mutating func sample(logits: [Float]) -> SampledToken? {
        let workspace = SamplingWorkspace(vocabularySize: logits.count)
        var copy = logits
        return copy.withUnsafeMutableBufferPointer { sample(logits: $0, workspace: workspace) }
    }
}
