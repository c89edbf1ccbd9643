/// A batch's `status` column in `scribe.batches` (OpenAI's batch statuses). Raw values
/// are the SQL contract.
///
/// ```
/// validating ──file written──▶ in_progress ──last request finished──▶ completed
///   │                              ├── scribe.cancel_batch ─▶ cancelling ──▶ cancelled
///   │                              └── window ended (expired_at set) ──────▶ expired
///   └── file refused (recorded with its errors) ─▶ failed
/// ```
/// `finalizing` is in the contract for OpenAI clients; Scribe passes through it within
/// one statement (results need no file to be written), so it is never seen.
public enum BatchStatus: String, Sendable, Hashable, CaseIterable {
    case validating
    case inProgress = "in_progress"
    case finalizing, completed, failed, expired, cancelling, cancelled

    public var isFinal: Bool {
        switch self {
        case .completed, .failed, .expired, .cancelled: true
        case .validating, .inProgress, .finalizing, .cancelling: false
        }
    }
}

/// One row of `scribe.batches`, as read back.
public struct BatchRecord: Sendable, Equatable {
    public var id: Int64
    /// Nil for a status this scribe does not know (written by a newer one).
    public var status: BatchStatus?
    public var endpoint: String
    public var model: String?
    public var inputFile: String
    public var total: Int
    public var completed: Int
    public var failed: Int
    /// `created_at` as RFC 3339 in UTC, to the second.
    public var createdAt: String
    /// The OpenAI-shaped batch object (`scribe.batch_object`), as JSON text.
    public var objectJSON: String

    /// The name used outside SQL: `batch_<id>`.
    public var name: String { BatchRecord.name(of: id) }

    public static func name(of id: Int64) -> String { "batch_\(id)" }

    /// The id in `batch_42` or `42`; nil for anything else.
    public static func id(named text: String) -> Int64? {
        let digits = text.hasPrefix("batch_") ? String(text.dropFirst("batch_".count)) : text
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(digits)
    }

    static let columns = """
        b.id, b.status, b.endpoint, b.model, b.input_file, b.requests_total, b.requests_completed,
        b.requests_failed, to_char(b.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created,
        scribe.batch_object(b)::text AS object
        """

    init?(rows: PostgresRows, index: Int) {
        func text(_ column: String) -> String? { rows.value(index, column) }
        guard let id = text("id").flatMap({ Int64($0) }), let endpoint = text("endpoint"),
              let total = text("requests_total").flatMap({ Int($0) }),
              let completed = text("requests_completed").flatMap({ Int($0) }),
              let failed = text("requests_failed").flatMap({ Int($0) }), let object = text("object")
        else { return nil }
        self.id = id
        status = text("status").flatMap(BatchStatus.init(rawValue:))
        self.endpoint = endpoint
        model = text("model")
        inputFile = text("input_file") ?? ""
        self.total = total
        self.completed = completed
        self.failed = failed
        createdAt = text("created") ?? ""
        objectJSON = object
    }
}

/// One request of a batch with its outcome, for `scribe batch results`.
public struct BatchResultRow: Sendable, Equatable {
    public var jobID: Int64
    public var customID: String
    public var status: JobStatus?
    public var result: String?
    public var finishReason: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var error: String?
    /// The `choices` column as JSON text (`[JobChoice]`), nil when NULL.
    public var choicesJSON: String?
    /// `finished_at` in Unix seconds.
    public var finishedAt: Int64?

    public init(
        jobID: Int64, customID: String, status: JobStatus?, result: String? = nil, finishReason: String? = nil,
        promptTokens: Int? = nil, completionTokens: Int? = nil, error: String? = nil, choicesJSON: String? = nil,
        finishedAt: Int64? = nil
    ) {
        self.jobID = jobID
        self.customID = customID
        self.status = status
        self.result = result
        self.finishReason = finishReason
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.error = error
        self.choicesJSON = choicesJSON
        self.finishedAt = finishedAt
    }
}
