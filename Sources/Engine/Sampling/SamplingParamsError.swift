import ScribeCore
/// A request's sampling parameters are invalid; the message names the field and reads as a sentence.
public struct SamplingParamsError: ClassifiedError, Equatable, Sendable, CustomStringConvertible {
    /// The offending field with its prefix, e.g. `params.top_p`; just the prefix for whole-object errors.
    public var field: String
    /// The full message, e.g. `params.top_p must be a number in (0, 1], got 1.5`.
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
    public var kind: FailureKind { .invalidInput }
}
