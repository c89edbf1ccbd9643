import ScribeCore
import Foundation
import Logging

/// A new batch's settings (`scribe batch submit` flags and what the file names).
public struct NewBatch: Sendable, Equatable {
    public var endpoint: String
    public var model: String?
    public var inputFile: String
    /// As written (`24h`), kept for the batch object.
    public var completionWindow: String
    public var window: Duration
    public var metadata: [String: String]
    public var callbackURL: String?
    /// The jobs' priority (smaller runs first).
    public var priority: Int

    public init(endpoint: String, model: String? = nil, inputFile: String = "", completionWindow: String = "24h",
                window: Duration = .seconds(86_400), metadata: [String: String] = [:], callbackURL: String? = nil,
                priority: Int = 0) {
        self.endpoint = endpoint
        self.model = model
        self.inputFile = inputFile
        self.completionWindow = completionWindow
        self.window = window
        self.metadata = metadata
        self.callbackURL = callbackURL
        self.priority = priority
    }
}

/// One line of a batch file as a job: exactly one of `prompt` and `messagesJSON`.
public struct BatchJobInput: Sendable, Equatable {
    public var customID: String
    public var prompt: String?
    /// A JSON array of `{"role", "content"}` objects.
    public var messagesJSON: String?
    /// A JSON object of sampling parameters with the `params` column's names.
    public var paramsJSON: String

    public init(customID: String, prompt: String? = nil, messagesJSON: String? = nil, paramsJSON: String) {
        self.customID = customID
        self.prompt = prompt
        self.messagesJSON = messagesJSON
        self.paramsJSON = paramsJSON
    }
}

/// Why a file was refused, one entry per bad line (OpenAI's `BatchError`).
public struct BatchFileError: Sendable, Equatable, Codable {
    public var code: String
    /// 1-based; nil for a problem of the whole file.
    public var line: Int?
    public var message: String
    /// The field at fault (`body.temperature`), when there is one.
    public var param: String?

    public init(code: String, line: Int?, message: String, param: String? = nil) {
        self.code = code
        self.line = line
        self.message = message
        self.param = param
    }
}

/// `scribe.batches` and the batch columns of `scribe.jobs`: create, read, cancel, expire.
/// Single owner, like the connection it wraps.
public final class BatchStore {
    public let connection: PostgresConnection
    let logger: Logger

    public init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Writes the batch and one job per request in one transaction (nothing is visible
    /// until all is written), `chunkBytes` of request JSON per INSERT; `progress` is called
    /// with the requests written so far. Returns the batch id.
    public func create(_ batch: NewBatch, requests: [BatchJobInput], chunkBytes: Int = 4 << 20,
                       progress: (Int) -> Void = { _ in }) throws -> Int64 {
        let id = try connection.transaction { () throws -> Int64 in
            let id = try insert(batch, status: .validating, total: requests.count, errors: nil)
            var written = 0
            var chunk = ""
            var rows = 0
            func flush() throws {
                guard rows > 0 else { return }
                try connection.query(
                    """
                    INSERT INTO scribe.jobs (prompt, messages, params, batch_id, custom_id, priority)
                    SELECT r.prompt, r.messages, r.params, $1, r.custom_id, $3
                    FROM ROWS FROM (jsonb_to_recordset($2::jsonb)
                                    AS (custom_id text, prompt text, messages jsonb, params jsonb))
                         WITH ORDINALITY AS r(custom_id, prompt, messages, params, position)
                    ORDER BY r.position
                    """, [id, "[" + chunk + "]", batch.priority])
                written += rows
                progress(written)
                chunk = ""
                rows = 0
            }
            for request in requests {
                if rows > 0 { chunk += "," }
                chunk += "{\"custom_id\":" + JSONValue.quoted(request.customID)
                    + ",\"prompt\":" + (request.prompt.map(JSONValue.quoted) ?? "null")
                    + ",\"messages\":" + (request.messagesJSON ?? "null")
                    + ",\"params\":" + request.paramsJSON + "}"
                rows += 1
                if chunk.utf8.count >= chunkBytes { try flush() }
            }
            try flush()
            try connection.query("UPDATE scribe.batches SET status = 'in_progress' WHERE id = $1", [id])
            return id
        }
        logger.info("Batch submitted", metadata: ["batch.id": "\(id)", "batch.requests": "\(requests.count)"])
        return id
    }

    /// Records a refused file as a `failed` batch carrying its errors (its webhook, if it
    /// has a callback URL, goes out as `batch.failed`); no job is written. Returns its id.
    public func recordFailed(_ batch: NewBatch, errors: [BatchFileError]) throws -> Int64 {
        let id = try insert(batch, status: .failed, total: 0, errors: errors)
        logger.info("Batch refused", metadata: ["batch.id": "\(id)", "batch.errors": "\(errors.count)"])
        return id
    }

    private func insert(_ batch: NewBatch, status: BatchStatus, total: Int, errors: [BatchFileError]?) throws -> Int64 {
        let metadata = batch.metadata.isEmpty ? nil : JSONValue.object(batch.metadata.mapValues { .string($0) }).jsonText
        let errorsJSON = try errors.map { try JSONValue(encoding: $0).jsonText }
        let rows = try connection.query(
            """
            INSERT INTO scribe.batches (status, endpoint, model, input_file, completion_window, expires_at,
                                        metadata, callback_url, requests_total, errors)
            VALUES ($1, $2, $3, $4, $5, now() + $6::float8 * interval '1 second', $7::jsonb, $8, $9, $10::jsonb)
            RETURNING id
            """, [status.rawValue, batch.endpoint, batch.model, batch.inputFile, batch.completionWindow,
                  batch.window.seconds, metadata, batch.callbackURL, total, errorsJSON])
        guard let id = rows.scalar.flatMap({ Int64($0) }) else {
            throw PostgresError(.query, message: "INSERT INTO scribe.batches returned no id")
        }
        return id
    }

    public func batch(_ id: Int64) throws -> BatchRecord? {
        let rows = try connection.query("SELECT \(BatchRecord.columns) FROM scribe.batches AS b WHERE b.id = $1", [id])
        return rows.count == 0 ? nil : BatchRecord(rows: rows, index: 0)
    }

    /// Batches newest first, optionally only those with `status`.
    public func list(status: BatchStatus? = nil, limit: Int = 50) throws -> [BatchRecord] {
        let rows = try connection.query(
            """
            SELECT \(BatchRecord.columns) FROM scribe.batches AS b
            WHERE $1::text IS NULL OR b.status = $1 ORDER BY b.id DESC LIMIT $2
            """, [status?.rawValue, limit])
        return (0..<rows.count).compactMap { BatchRecord(rows: rows, index: $0) }
    }

    /// `scribe.cancel_batch`, then a sweep so that its queued requests are cancelled and its
    /// running ones told to stop now rather than at a worker's next sweep. Returns the
    /// batch's status afterwards, nil when there is no such batch.
    public func cancel(_ id: Int64) throws -> BatchStatus? {
        guard let status = try connection.query("SELECT scribe.cancel_batch($1)", [id]).scalar else { return nil }
        logger.info("Batch cancel requested", metadata: ["batch.id": "\(id)", "batch.status": "\(status)"])
        _ = try sweep()
        return try batch(id)?.status
    }

    /// What one `sweep` did.
    public struct Sweep: Sendable, Equatable {
        /// Batches whose completion window ended now.
        public var expired: Int
        /// Jobs of cancelled or expired batches cancelled or told to stop.
        public var jobsStopped: Int

        public init(expired: Int, jobsStopped: Int) {
            self.expired = expired
            self.jobsStopped = jobsStopped
        }
    }

    /// Marks batches whose completion window ended (`scribe.expire_batches`), then stops
    /// the unfinished requests of batches expiring or being cancelled and settles those
    /// with nothing left (`scribe.sweep_batches`). Two statements, two transactions: the
    /// first locks batch rows only, the second job rows before batch rows. A deadlock with
    /// a worker's result write (both lock several job rows) is retried.
    public func sweep() throws -> Sweep {
        let expired = Int(try connection.query("SELECT scribe.expire_batches()").scalar ?? "0") ?? 0
        var attempt = 0
        while true {
            do {
                let stopped = Int(try connection.query("SELECT scribe.sweep_batches()").scalar ?? "0") ?? 0
                if expired > 0 || stopped > 0 {
                    logger.info("Batches swept", metadata: ["batches.expired": "\(expired)", "jobs.stopped": "\(stopped)"])
                }
                return Sweep(expired: expired, jobsStopped: stopped)
            } catch let error as PostgresError where error.sqlState == "40P01" && attempt < 5 {
                attempt += 1
                logger.notice("Batch sweep deadlocked; retrying", metadata: ["sweep.attempt": "\(attempt)"])
            }
        }
    }

    /// Finished requests of a batch after job `afterJob`, in input order, `limit` at a time.
    public func results(of batchID: Int64, afterJob: Int64 = 0, limit: Int = 1000) throws -> [BatchResultRow] {
        let rows = try connection.query(
            """
            SELECT id, custom_id, status, result, finish_reason, prompt_tokens, completion_tokens, error,
                   choices::text, extract(epoch FROM finished_at)::bigint
            FROM scribe.jobs
            WHERE batch_id = $1 AND id > $2 AND status IN ('succeeded', 'failed', 'cancelled')
            ORDER BY id LIMIT $3
            """, [batchID, afterJob, limit])
        return rows.rows.compactMap { row in
            guard let id = row[0].flatMap({ Int64($0) }), let customID = row[1] else { return nil }
            return BatchResultRow(
                jobID: id, customID: customID, status: row[2].flatMap(JobStatus.init(rawValue:)), result: row[3],
                finishReason: row[4], promptTokens: row[5].flatMap { Int($0) }, completionTokens: row[6].flatMap { Int($0) },
                error: row[7], choicesJSON: row[8], finishedAt: row[9].flatMap { Int64($0) })
        }
    }
}
