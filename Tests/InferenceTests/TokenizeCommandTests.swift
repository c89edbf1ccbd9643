import Foundation
import Testing
import TestSupport

/// `scribe tokenize`: text on standard input, exactly as given (CRLF, no final newline, an
/// empty input), against llama.cpp's ids in Tests/Fixtures/reference/tokenize.jsonl.
@Suite struct TokenizeCommandTests {
    /// The cases whose input bytes are easiest to lose on the way in, or whose ids depend on `--special`.
    static let cases = TokenizerReferenceTests.cases.filter { row in
        row.text.isEmpty || row.text.contains("<|") || row.text.contains("\r") || row.text.unicodeScalars.contains { $0.value > 127 }
    }

    @Test func standardInputGivesLlamaCppIds() throws {
        let model = try #require(Repository.referenceModelPath, "reference model not fetched (run Ops/setup)")
        #expect(Self.cases.count >= 10 && Self.cases.contains { !$0.parse_special })
        for row in Self.cases {
            let result = try ChildProcess.run(
                [Executables.scribe, "tokenize", "--model", model] + (row.parse_special ? ["--special"] : []), input: row.text)
            #expect(result.status == 0, "\(result.standardError)")
            let ids = try JSONDecoder().decode([Int32].self, from: Data(result.standardOutput.utf8))
            #expect(ids == row.ids, "\(row.text.debugDescription) special=\(row.parse_special)")
        }
    }

    /// Without --model: $SCRIBE_MODEL, else the cached reference model.
    @Test func theModelDefaultsToTheCachedReferenceModel() throws {
        _ = try #require(Repository.referenceModelPath, "reference model not fetched (run Ops/setup)")
        let row = try #require(Self.cases.first { $0.parse_special && $0.text.contains("<|") })
        var environment = Repository.environment
        environment["SCRIBE_MODEL"] = nil
        let result = try ChildProcess.run([Executables.scribe, "tokenize", "--special"], environment: environment, input: row.text)
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try JSONDecoder().decode([Int32].self, from: Data(result.standardOutput.utf8)) == row.ids)
        environment["SCRIBE_MODEL"] = "/nonexistent/from-environment.gguf"
        let named = try ChildProcess.run([Executables.scribe, "tokenize"], environment: environment, input: "hi")
        #expect(named.status != 0 && named.standardError.contains("/nonexistent/from-environment.gguf"))
    }

    @Test func aMissingModelIsAClearError() throws {
        let result = try ChildProcess.run([Executables.scribe, "tokenize", "--model", "/nonexistent/model.gguf"], input: "hi")
        #expect(result.status != 0)
        #expect(result.standardError.contains("/nonexistent/model.gguf"))
    }
}
