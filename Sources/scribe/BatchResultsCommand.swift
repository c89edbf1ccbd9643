import ArgumentParser
import Batches
import Foundation
import JobStore

/// `scribe batch results ID`: the batch's output and error files, as OpenAI writes them.
struct BatchResultsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Write a batch's output lines (and error lines) as OpenAI's Batch API does.",
        discussion: """
            Lines come in input order. Without --output they go to standard output; without \
            --errors, error lines go where output lines go. A batch still running gives the \
            lines of the requests finished so far, and says so on standard error.
            """)

    @Argument(help: "The batch: batch_42 or 42.")
    var batch: String

    @Option(help: "Write output lines (requests that succeeded) to this file.")
    var output: String?

    @Option(help: "Write error lines (failed, cancelled and expired requests) to this file.")
    var errors: String?

    func run() throws {
        let store = try BatchCommand.openStore()
        let record = try BatchCommand.find(batch, in: store)
        guard let endpoint = BatchEndpoint(rawValue: record.endpoint) else {
            throw CommandFailure(description: "\(record.name) has an endpoint this scribe does not know: \(record.endpoint)")
        }
        let outputFile = try open(output)
        let errorFile = try errors.map { try open($0) } ?? outputFile
        let context = BatchOutputLine.Context(endpoint: endpoint, model: record.model ?? "scribe", batchStatus: record.status)
        var lastJob: Int64 = 0
        var written = (output: 0, errors: 0)
        while true {
            let rows = try store.results(of: record.id, afterJob: lastJob)
            guard let last = rows.last else { break }
            var outputText = "", errorText = ""
            for row in rows {
                let line = BatchOutputLine.render(row, context: context)
                switch line.kind {
                case .output: outputText += line.json + "\n"; written.output += 1
                case .error: errorText += line.json + "\n"; written.errors += 1
                }
            }
            outputFile.write(Data(outputText.utf8))
            errorFile.write(Data(errorText.utf8))
            lastJob = last.jobID
        }
        if output != nil { try outputFile.close() }
        if errors != nil { try errorFile.close() }
        let finished = record.completed + record.failed
        var note = "\(record.name): \(written.output) output lines, \(written.errors) error lines"
        if record.status?.isFinal != true {
            note += "; the batch is \(record.status?.rawValue ?? "unknown"), \(record.total - finished) requests not finished yet"
        } else if written.output + written.errors < finished {
            note += "; \(finished - written.output - written.errors) finished requests are gone (deleted by job retention?)"
        }
        FileHandle.standardError.write(Data((note + "\n").utf8))
    }

    private func open(_ path: String?) throws -> FileHandle {
        guard let path else { return FileHandle.standardOutput }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CommandFailure(description: "cannot write \(path)")
        }
        return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    }
}
