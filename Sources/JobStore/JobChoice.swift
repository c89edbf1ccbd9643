/// One of a job's `n` completions, as stored in the `choices` column for jobs that asked
/// for several completions or for logprobs (the engine's tokens already spelled out, so
/// readers need no tokenizer). JSON keys are snake_case, as in the SQL contract.
public struct JobChoice: Sendable, Equatable, Codable {
    public var index: Int
    public var text: String
    /// "stop", "length", "cancelled".
    public var finishReason: String
    /// Per generated token, when the job asked for `logprobs`.
    public var logprobs: [TokenLogprobs]?

    public init(index: Int, text: String, finishReason: String, logprobs: [TokenLogprobs]? = nil) {
        self.index = index
        self.text = text
        self.finishReason = finishReason
        self.logprobs = logprobs
    }

    /// A token's text, its UTF-8 bytes (a token may hold part of a character, so `token`
    /// alone can lose bytes), and its log-probability.
    public struct TokenLogprob: Sendable, Equatable, Codable {
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
    public struct TokenLogprobs: Sendable, Equatable, Codable {
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
    }
}

extension JobChoice {
    /// What `jsonb` can hold: no NUL in strings, finite numbers only (a -inf logprob
    /// becomes -9999, as OpenAI reports tokens of no probability).
    var storable: JobChoice {
        func finite(_ x: Double) -> Double { x.isFinite ? x : -9999 }
        func clean(_ t: TokenLogprob) -> TokenLogprob {
            TokenLogprob(token: withoutNUL(t.token) ?? "", bytes: t.bytes, logprob: finite(t.logprob))
        }
        var copy = self
        copy.text = withoutNUL(text) ?? ""
        copy.logprobs = logprobs?.map { entry in
            TokenLogprobs(token: withoutNUL(entry.token) ?? "", bytes: entry.bytes, logprob: finite(entry.logprob),
                          topLogprobs: entry.topLogprobs.map(clean))
        }
        return copy
    }
}
