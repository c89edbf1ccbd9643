import Engine
import Inference
import JobStore

/// Between the job table's rows and the engine's requests and results.
enum JobTranslation {
    /// The engine request for a claimed job; an error names the field at fault and fails the
    /// job without retries (a bad job never gets better by trying again).
    static func request(for job: ClaimedJob) throws(GenerationError) -> GenerationRequest {
        let prompt: PromptInput
        switch job.input {
        case .prompt(let text): prompt = try JobContract.prompt(prompt: text, messagesJSON: nil)
        case .messages(let json): prompt = try JobContract.prompt(prompt: nil, messagesJSON: json)
        }
        do {
            return GenerationRequest(id: String(job.id), prompt: prompt, params: try JobContract.params(json: job.paramsJSON))
        } catch {
            throw GenerationError(error.message)
        }
    }

    static func result(_ result: GenerationResult, for job: ClaimedJob, tokenizer: Tokenizer,
                       maxBytes: Int = JobResult.maxStoredBytes) -> JobResult {
        var timings = [
            "queued_ms": result.timings.queued * 1000,
            "first_token_ms": result.timings.firstToken * 1000,
            "total_ms": result.timings.total * 1000,
            "cached_prompt_tokens": Double(result.cachedPromptTokens),
        ]
        switch result.outcome {
        case .failure(let error):
            return JobResult(id: job.id, attempt: job.attempt, outcome: outcome(of: error),
                             promptTokens: result.promptTokens, timings: timings)
        case .success(let completions):
            let first = completions[0]
            if result.timings.total > result.timings.firstToken, result.completionTokens > 1 {
                timings["tokens_per_s"] = Double(first.tokenIDs.count - 1) / (result.timings.total - result.timings.firstToken)
            }
            let outcome: JobResult.Outcome = first.finishReason == .cancelled ? .cancelled : .succeeded
            let stored = JobResult(
                id: job.id, attempt: job.attempt, outcome: outcome, text: first.text,
                finishReason: first.finishReason.rawValue, promptTokens: result.promptTokens,
                completionTokens: result.completionTokens, timings: timings,
                choices: choices(completions, tokenizer: tokenizer))
            return bounded(stored, maxBytes: maxBytes)
        }
    }

    /// Bad input fails now; anything else is worth another attempt, counted.
    static func outcome(of error: GenerationError) -> JobResult.Outcome {
        error.kind == .invalidInput ? .failed(error: error.description) : .retry(error: error.description)
    }

    /// The result, or a failure saying why it cannot be stored when it is over
    /// `maxBytes` (`JobResult.maxStoredBytes` unless the worker sets less): that job
    /// fails, and only that one.
    static func bounded(_ result: JobResult, maxBytes: Int = JobResult.maxStoredBytes) -> JobResult {
        let size = result.estimatedStoredBytes
        guard size > maxBytes else { return result }
        let megabytes = { (bytes: Int) in (bytes + (1 << 20) - 1) >> 20 }
        return JobResult(
            id: result.id, attempt: result.attempt,
            outcome: .failed(error: "the result is about \(megabytes(size)) MB as JSON, over the \(megabytes(maxBytes)) MB "
                + "a job's result may take (text, choices and logprobs): ask for fewer completions (n), tokens (max_tokens) or logprobs"),
            promptTokens: result.promptTokens, completionTokens: result.completionTokens, timings: result.timings)
    }

    /// Every completion with its tokens spelled out, for the `choices` column; nil when
    /// the job asked for one completion without logprobs or choice scores (`result` holds
    /// it all).
    static func choices(_ completions: [Completion], tokenizer: Tokenizer) -> [JobChoice]? {
        guard completions.count > 1 || completions.contains(where: { $0.logprobs != nil || $0.choiceScores != nil }) else {
            return nil
        }
        func spelled(_ token: TokenID, _ logprob: Float) -> JobChoice.TokenLogprob {
            let bytes = tokenizer.bytes(of: token)
            return JobChoice.TokenLogprob(token: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: Double(logprob))
        }
        return completions.map { completion in
            JobChoice(
                index: completion.index, text: completion.text, finishReason: completion.finishReason.rawValue,
                logprobs: completion.logprobs?.map { sample in
                    let own = spelled(sample.token, sample.logprob ?? 0)
                    return JobChoice.TokenLogprobs(
                        token: own.token, bytes: own.bytes, logprob: own.logprob,
                        topLogprobs: sample.topLogprobs.map { spelled($0.token, $0.logprob) })
                },
                choiceProbabilities: completion.choiceScores)
        }
    }
}
