import Foundation

/// Runs `Tests/Fixtures/openai/check_batch_lines.py`: the `openai` Python package (pinned
/// in Ops/setup) validates batch output lines and, given one, a batch object.
public enum OpenAIBatchCheck {
    public static func run(lines: String, batchJSON: String? = nil) throws -> ProcessResult {
        let folder = FileManager.default.temporaryDirectory.path + "/scribe-openai-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var arguments = ["python3", Repository.path("Tests/Fixtures/openai/check_batch_lines.py")]
        if let batchJSON {
            try batchJSON.write(toFile: folder + "/batch.json", atomically: true, encoding: .utf8)
            arguments += ["--batch", folder + "/batch.json"]
        }
        try lines.write(toFile: folder + "/lines.jsonl", atomically: true, encoding: .utf8)
        return try ChildProcess.run(arguments + [folder + "/lines.jsonl"])
    }
}
