/// Scribe's one error taxonomy: what a failure means for the work that met it. The engine,
/// the worker and the webhook dispatcher decide retries from it, and a job's `error_kind`
/// column stores it.
///
/// | kind            | meaning                                   | what happens |
/// |-----------------|-------------------------------------------|--------------|
/// | `invalid_input` | the input can never work as given         | fail now, no retry |
/// | `transient`     | the world may change (a database or receiver away, a timeout) | retry with backoff; a job's attempt is not held against it |
/// | `internal`      | a fault of ours, or one we cannot place (an engine error, a worker lost mid-job) | retry with the attempt counted, logged with its context; a job that keeps hitting it fails when its attempts are spent |
public enum FailureKind: String, Sendable, CaseIterable, Codable {
    case invalidInput = "invalid_input"
    case transient
    case `internal`

    /// The kind an error declares; `internal` for one that declares none (we cannot tell
    /// that it is the input's fault, nor that waiting will help).
    public init(of error: any Error) {
        self = (error as? any ClassifiedError)?.kind ?? .internal
    }
}

/// An error that says which `FailureKind` it is.
public protocol ClassifiedError: Error {
    var kind: FailureKind { get }
}
