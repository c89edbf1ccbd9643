import ScribeCore

/// One of a job's `n` completions, as stored in the `choices` column for jobs that asked
/// for several completions or for logprobs (the engine's tokens already spelled out, so
/// readers need no tokenizer). JSON keys are snake_case, as in the SQL contract.
public struct JobChoice: Sendable, Equatable, Encodable {
    public var index: Int
    public var text: String
    /// "stop", "length", "cancelled".
    public var finishReason: String
    /// Per generated token, when the job asked for `logprobs`.
    public var logprobs: [TokenLogprobs]?
    /// With `choice_logprobs`: every choice with its probability (normalised over the
    /// choices) and its tokens' summed logprob.
    public var choiceProbabilities: [ChoiceScore]?

    public init(index: Int, text: String, finishReason: String, logprobs: [TokenLogprobs]? = nil,
                choiceProbabilities: [ChoiceScore]? = nil) {
        self.index = index
        self.text = text
        self.finishReason = finishReason
        self.logprobs = logprobs
        self.choiceProbabilities = choiceProbabilities
    }

    /// A token's text, its UTF-8 bytes (a token may hold part of a character, so `token`
    /// alone can lose bytes), and its log-probability.
    public struct TokenLogprob: Sendable, Equatable, Encodable {
        public var token: String
        public var bytes: [UInt8]
        public var logprob: Double

        public init(token: String, bytes: [UInt8], logprob: Double) {
            self.token = token
            self.bytes = bytes
            self.logprob = logprob
        }
    }

    /// A generated token and the most likely alternatives at its position.
    public struct TokenLogprobs: Sendable, Equatable, Encodable {
        public var token: String
        public var bytes: [UInt8]
        public var logprob: Double
        public var topLogprobs: [TokenLogprob]

        public init(token: String, bytes: [UInt8], logprob: Double, topLogprobs: [TokenLogprob]) {
            self.token = token
            self.bytes = bytes
            self.logprob = logprob
            self.topLogprobs = topLogprobs
        }

        enum CodingKeys: String, CodingKey {
            case token, bytes, logprob
            case topLogprobs = "top_logprobs"
        }
    }

    enum CodingKeys: String, CodingKey {
        case index, text, logprobs
        case finishReason = "finish_reason"
        case choiceProbabilities = "choice_probabilities"
    }
}

extension JobChoice {
    /// What `jsonb` can hold: finite numbers only (a -inf logprob becomes -9999, as
    /// OpenAI reports tokens of no probability). NUL the JSON writer drops.
    var storable: JobChoice {
        func finite(_ x: Double) -> Double { x.isFinite ? x : -9999 }
        var copy = self
        copy.logprobs = logprobs?.map { entry in
            TokenLogprobs(token: entry.token, bytes: entry.bytes, logprob: finite(entry.logprob),
                          topLogprobs: entry.topLogprobs.map {
                              TokenLogprob(token: $0.token, bytes: $0.bytes, logprob: finite($0.logprob))
                          })
        }
        return copy
    }

    /// The choices a `choices` column holds (the shape `storable` writes); nil when the
    /// text is not that shape.
    public static func stored(_ json: String) -> [JobChoice]? {
        guard case .array(let items)? = try? JSONValue.parse(json) else { return nil }
        func logprob(_ value: JSONValue) -> TokenLogprob? {
            guard case .object(let o) = value, case .string(let token)? = o["token"],
                  case .array(let bytes)? = o["bytes"], let logprob = o["logprob"]?.doubleValue else { return nil }
            let values = bytes.compactMap { $0.intValue.flatMap(UInt8.init(exactly:)) }
            guard values.count == bytes.count else { return nil }
            return TokenLogprob(token: token, bytes: values, logprob: logprob)
        }
        var choices: [JobChoice] = []
        for item in items {
            guard case .object(let o) = item, let index = o["index"]?.intValue, case .string(let text)? = o["text"],
                  case .string(let finish)? = o["finish_reason"] else { return nil }
            var choice = JobChoice(index: index, text: text, finishReason: finish)
            if case .array(let entries)? = o["logprobs"] {
                var parsed: [TokenLogprobs] = []
                for entry in entries {
                    guard let own = logprob(entry), case .object(let e) = entry,
                          case .array(let top)? = e["top_logprobs"] else { return nil }
                    let alternatives = top.compactMap(logprob)
                    guard alternatives.count == top.count else { return nil }
                    parsed.append(TokenLogprobs(token: own.token, bytes: own.bytes, logprob: own.logprob, topLogprobs: alternatives))
                }
                choice.logprobs = parsed
            }
            if case .array(let entries)? = o["choice_probabilities"] {
                choice.choiceProbabilities = entries.compactMap { entry in
                    guard case .object(let e) = entry, case .string(let text)? = e["choice"],
                          let probability = e["probability"]?.doubleValue, let logprob = e["logprob"]?.doubleValue else { return nil }
                    return ChoiceScore(choice: text, probability: probability, logprob: logprob)
                }
            }
            choices.append(choice)
        }
        return choices
    }
}
