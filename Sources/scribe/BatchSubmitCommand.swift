import ArgumentParser
import Batches
import Foundation
import JobStore

/// `scribe batch submit FILE.jsonl`: checks the whole file, then enqueues it as one batch.
struct BatchSubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate an OpenAI Batch API JSONL file and enqueue it; prints the batch id on the last line.",
        discussion: """
            Each line is {"custom_id", "method": "POST", "url": "/v1/chat/completions" or \
            "/v1/completions", "body": {…}}. The whole file is checked first: every bad line is \
            reported with its number and reason, and then nothing is enqueued (the refusal is \
            recorded as a failed batch, unless --dry-run). All lines must name one endpoint and \
            one model.
            """)

    @Argument(help: "The JSONL file.")
    var file: String

    @Option(help: "Where to POST batch webhooks (batch.completed, batch.failed, batch.expired, batch.cancelled).")
    var callbackURL: String?

    @Option(help: ArgumentHelp("Metadata for the batch, repeatable (at most 16 pairs).", valueName: "key=value"))
    var metadata: [String] = []

    @Option(help: "Requests unfinished this long after submission are expired (s, m, h or d: 24h, 90m).")
    var completionWindow = "24h"

    @Option(help: "The jobs' priority (smaller runs first; plain jobs default to 0).")
    var priority = 0

    @Flag(help: "Only check the file; write nothing.")
    var dryRun = false

    func validate() throws {
        if let callbackURL, callbackURL.range(of: "^https?://", options: [.regularExpression, .caseInsensitive]) == nil {
            throw ValidationError("--callback-url must be an http:// or https:// URL")
        }
        if CompletionWindow(completionWindow) == nil {
            throw ValidationError("--completion-window must be a positive whole number of s, m, h or d (24h, 90m), at most 366d")
        }
        _ = try metadataPairs()
    }

    /// OpenAI's limits: 16 pairs, keys up to 64 characters, values up to 512.
    func metadataPairs() throws -> [String: String] {
        var pairs: [String: String] = [:]
        for entry in metadata {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--metadata takes key=value, got \(entry)")
            }
            let key = String(entry[..<equals]), value = String(entry[entry.index(after: equals)...])
            guard key.count <= 64, value.count <= 512 else {
                throw ValidationError("--metadata keys are at most 64 characters and values at most 512")
            }
            pairs[key] = value
        }
        guard pairs.count <= 16 else { throw ValidationError("--metadata takes at most 16 pairs") }
        return pairs
    }

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw CommandFailure(description: "cannot read \(file)")
        }
        let started = Date()
        let window = CompletionWindow(completionWindow)!
        var batch = NewBatch(
            endpoint: BatchEndpoint.chatCompletions.rawValue, inputFile: (file as NSString).lastPathComponent,
            completionWindow: window.text, window: window.duration, metadata: try metadataPairs(),
            callbackURL: callbackURL, priority: priority)
        switch BatchFile.parse([UInt8](data)) {
        case .failure(let refusal):
            batch.endpoint = (refusal.endpoint ?? .chatCompletions).rawValue
            try refuse(refusal.errors, batch: batch)
        case .success(let parsed):
            batch.endpoint = parsed.endpoint.rawValue
            batch.model = parsed.model
            if dryRun {
                FileHandle.standardError.write(Data("\(file): \(parsed.requests.count) requests for \(parsed.endpoint.rawValue), all valid\n".utf8))
                return
            }
            let store = try BatchCommand.openStore()
            let bar = ProgressBar(label: "submitting", total: parsed.requests.count)
            let id = try store.create(batch, requests: parsed.requests, progress: bar.update)
            bar.finish()
            let seconds = Date().timeIntervalSince(started)
            FileHandle.standardError.write(Data(
                "\(file): \(parsed.requests.count) requests enqueued in \(format(seconds, digits: 2)) s\n".utf8))
            print(BatchRecord.name(of: id))
        }
    }

    /// Prints every problem (the first 100) and records the refusal as a failed batch.
    private func refuse(_ errors: [BatchFileError], batch: NewBatch) throws -> Never {
        var report = ""
        for error in errors.prefix(100) {
            report += "\(file):\(error.line.map { "\($0):" } ?? "") \(error.code): \(error.message)\n"
        }
        if errors.count > 100 { report += "… and \(errors.count - 100) more problems\n" }
        FileHandle.standardError.write(Data(report.utf8))
        var summary = "\(file) refused (\(errors.count) problem\(errors.count == 1 ? "" : "s")); nothing was enqueued"
        if !dryRun {
            // Like OpenAI, the refusal is a batch of its own (status failed, with its errors).
            let id = try BatchCommand.openStore().recordFailed(batch, errors: Array(errors.prefix(1000)))
            summary += "; recorded as \(BatchRecord.name(of: id)) (failed)"
        }
        throw CommandFailure(description: summary)
    }
}
