/// Why a tokenizer could not be built from a model's vocabulary.
public struct TokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "tokenizer: \(reason)" }
}
