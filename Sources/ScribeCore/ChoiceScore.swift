/// One choice of a `choice_logprobs` request: the sum of its tokens' raw logprobs after
/// the prompt, and its probability normalised over all the choices. Stored as
/// `{"choice", "probability", "logprob"}` in a job's `choices` and in batch output.
public struct ChoiceScore: Sendable, Equatable, Encodable {
    public var choice: String
    public var probability: Double
    public var logprob: Double

    public init(choice: String, probability: Double, logprob: Double) {
        self.choice = choice
        self.probability = probability
        self.logprob = logprob
    }
}
