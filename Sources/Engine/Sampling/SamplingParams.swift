import ScribeCore
import Inference
import Constraints

/// Per-request sampling parameters with vLLM/OpenAI names, meanings and defaults.
///
/// Build one with ``parse(json:ignoring:fieldPrefix:)`` (rejects unknown fields and bad
/// values with a ``SamplingParamsError`` naming the field) or in code; `Codable` uses the
/// same snake_case names and the same validation.
public struct SamplingParams: Sendable, Equatable {
    /// Softmax temperature; `0` (anything below ``greedyTemperature``) means greedy argmax.
    public var temperature: Double = 1.0
    /// Keep only the `k` most likely tokens; `0` is off (`-1` in JSON is accepted and stored as `0`).
    public var topK: Int = 0
    /// Nucleus sampling: keep the smallest most-likely set whose probability reaches `topP`, in (0, 1].
    public var topP: Double = 1.0
    /// Drop tokens whose probability is below `minP` times the most likely token's, in [0, 1].
    public var minP: Double = 0.0
    /// > 1 discourages any token already in the prompt or output (vLLM/CTRL style), > 0.
    public var repetitionPenalty: Double = 1.0
    /// Subtracted once from the logit of every token already generated, in [-2, 2].
    public var presencePenalty: Double = 0.0
    /// Subtracted from a token's logit per time it was generated, in [-2, 2].
    public var frequencyPenalty: Double = 0.0
    /// Makes sampling reproducible; completion `i` of `n` uses `seed + i` (as vLLM). `nil`: random.
    public var seed: UInt64? = nil
    /// Generation stops when the text contains one of these; it is not part of the output.
    public var stop: [String] = []
    /// Generation stops after one of these tokens (the token's text is not part of the output).
    public var stopTokenIDs: [TokenID] = []
    /// The most tokens to generate, ≥ 1.
    public var maxTokens: Int = 16
    /// End-of-generation and stop tokens are masked until this many tokens are generated.
    public var minTokens: Int = 0
    /// Never end at the model's end-of-generation tokens (they are masked, as llama.cpp does).
    public var ignoreEOS: Bool = false
    /// Added to the logit of the given tokens before anything else, each in [-100, 100].
    public var logitBias: [TokenID: Double] = [:]
    /// `nil`: no logprobs; `k` in 0…20: the sampled token's logprob and the `k` most likely alternatives.
    public var logprobs: Int? = nil
    /// How many completions to generate from the prompt, 1…``maxN``.
    public var n: Int = 1
    /// What the output must be (`response_format` or `structured_outputs`): only tokens
    /// that keep it possible are drawn, and the output ends where it is complete.
    public var constraint: OutputConstraint? = nil
    /// With a `choice` constraint: score every choice (the sum of its tokens' raw
    /// logprobs after the prompt, one shared prefill), return the most probable one and
    /// the normalised probability of each.
    public var choiceLogprobs: Bool = false

    public init() {}

    /// Temperatures below this are treated as greedy (as vLLM's `_SAMPLING_EPS`): dividing
    /// logits by a tinier number overflows to infinity.
    public static let greedyTemperature = 1e-5
    public static let maxN = JobContract.maxN
    public static let maxLogprobs = JobContract.maxLogprobs
    public static let maxStopStrings = JobContract.maxStopStrings
    public static let maxStopStringBytes = JobContract.maxStopStringBytes
    public static let maxStopTokenIDs = JobContract.maxStopTokenIDs
    public static let maxLogitBiasEntries = JobContract.maxLogitBiasEntries

    /// The JSON names of every field, in documentation order.
    public static let fieldNames: [String] = [
        "temperature", "top_k", "top_p", "min_p", "repetition_penalty", "presence_penalty",
        "frequency_penalty", "seed", "stop", "stop_token_ids", "max_tokens", "min_tokens",
        "ignore_eos", "logit_bias", "logprobs", "n", "response_format", "structured_outputs", "choice_logprobs",
    ]

    /// The choices `choiceLogprobs` scores, in order; nil when it is off.
    public var scoredChoices: [String]? {
        guard choiceLogprobs, case .choice(let choices)? = constraint?.kind else { return nil }
        return choices
    }

    /// Whether the draw is an argmax (no random numbers used).
    public var isGreedy: Bool { temperature < Self.greedyTemperature }

    /// Checks the token ids against a model's vocabulary, which parsing cannot know.
    public func validate(vocabularySize: Int, fieldPrefix: String = "params.") throws(SamplingParamsError) {
        for id in stopTokenIDs where Int(id) >= vocabularySize {
            throw SamplingParamsError(
                field: fieldPrefix + "stop_token_ids",
                message: "\(fieldPrefix)stop_token_ids contains \(id), which is not a token id of this model (vocabulary size \(vocabularySize))")
        }
        for id in logitBias.keys.sorted() where Int(id) >= vocabularySize {
            throw SamplingParamsError(
                field: fieldPrefix + "logit_bias",
                message: "\(fieldPrefix)logit_bias key \"\(id)\" is not a token id of this model (vocabulary size \(vocabularySize))")
        }
    }
}

/// Read back with `SamplingParams.parse`, the validating parser.
extension SamplingParams: Encodable {
    public func encode(to encoder: any Encoder) throws {
        var object: [String: JSONValue] = [
            "temperature": .number(temperature), "top_k": .integer(Int64(topK)),
            "top_p": .number(topP), "min_p": .number(minP),
            "repetition_penalty": .number(repetitionPenalty),
            "presence_penalty": .number(presencePenalty), "frequency_penalty": .number(frequencyPenalty),
            "stop": .array(stop.map { .string($0) }),
            "stop_token_ids": .array(stopTokenIDs.map { .integer(Int64($0)) }),
            "max_tokens": .integer(Int64(maxTokens)), "min_tokens": .integer(Int64(minTokens)),
            "ignore_eos": .bool(ignoreEOS), "n": .integer(Int64(n)),
            // Token-keyed dictionaries would encode as arrays; JSON wants string keys.
            "logit_bias": .object(Dictionary(uniqueKeysWithValues: logitBias.map { ("\($0.key)", .number($0.value)) })),
        ]
        if let seed { object["seed"] = .unsignedInteger(seed) }
        if let logprobs { object["logprobs"] = .integer(Int64(logprobs)) }
        if let constraint { object["structured_outputs"] = constraint.structuredOutputs }
        if choiceLogprobs { object["choice_logprobs"] = .bool(true) }
        try JSONValue.object(object).encode(to: encoder)
    }
}
