import ArgumentParser
import Batches
import Foundation
import JobStore
import Logging

/// OpenAI Batch API files run as jobs (`scribe.batches`).
struct BatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Submit OpenAI Batch API files, follow them, cancel them and fetch their results.",
        subcommands: [BatchSubmitCommand.self, Status.self, List.self, Cancel.self, BatchResultsCommand.self])

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a batch's status and request counts (or, with --json, its OpenAI batch object).")

        @Argument(help: "The batch: batch_42 or 42.")
        var batch: String

        @Flag(help: "Print the batch as OpenAI's Batch object (JSON).")
        var json = false

        func run() throws {
            let record = try BatchCommand.find(batch, in: BatchCommand.openStore())
            if json {
                print(record.objectJSON)
            } else {
                print("\(record.status?.rawValue ?? "unknown") total=\(record.total) completed=\(record.completed) failed=\(record.failed)")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List batches, newest first.")

        @Option(help: "Only batches with this status (in_progress, completed, cancelled, …).")
        var status: String?

        @Option(help: "At most this many rows.")
        var limit = 50

        func validate() throws {
            if let status, BatchStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(BatchStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let batches = try BatchCommand.openStore().list(status: status.flatMap(BatchStatus.init(rawValue:)), limit: limit)
            print("id".padding(to: 14) + "status".padding(to: 12) + "endpoint".padding(to: 22) + "total".padding(to: 8)
                + "done".padding(to: 8) + "failed".padding(to: 8) + "created".padding(to: 22) + "file")
            for batch in batches {
                print(batch.name.padding(to: 14) + (batch.status?.rawValue ?? "?").padding(to: 12)
                    + batch.endpoint.padding(to: 22) + "\(batch.total)".padding(to: 8) + "\(batch.completed)".padding(to: 8)
                    + "\(batch.failed)".padding(to: 8) + batch.createdAt.padding(to: 22) + batch.inputFile)
            }
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel a batch: queued requests at once, running ones within a step; prints the status reached.",
            discussion: """
                Requests that already finished keep their results. The batch is cancelling until \
                its running requests have stopped, then cancelled.
                """)

        @Argument(help: "The batch: batch_42 or 42.")
        var batch: String

        func run() throws {
            let store = try BatchCommand.openStore()
            let record = try BatchCommand.find(batch, in: store)
            let status = try store.cancel(record.id)
            print(status?.rawValue ?? "unknown")
        }
    }

    static func openStore() throws -> BatchStore {
        var logger = Logger(label: "scribe.batch") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .warning
        return BatchStore(connection: try DatabaseConnection.open(), logger: logger)
    }

    static func find(_ name: String, in store: BatchStore) throws -> BatchRecord {
        guard let id = BatchRecord.id(named: name) else {
            throw ValidationError("\(name) is not a batch id (batch_42 or 42)")
        }
        guard let record = try store.batch(id) else {
            throw CommandFailure(description: "no batch \(BatchRecord.name(of: id))")
        }
        return record
    }
}
