import Foundation
import Logging
import Operations
import Testing

@Suite struct JSONLogTests {
    private func object(_ metadata: Logger.Metadata, message: String = "Job finished", error: String? = nil) throws -> [String: Any] {
        let text = LogRecord(
            timestamp: "2026-11-27T15:33:01.123Z", level: .warning, message: message, label: "scribe.worker",
            metadata: metadata, error: error
        ).formatted(as: .json)
        #expect(!text.contains("\n"))
        return try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func fixedKeysComeFirstAndMetadataKeepsDottedKeys() throws {
        let text = LogRecord(
            timestamp: "2026-11-27T15:33:01.123Z", level: .info, message: "Job finished", label: "scribe.worker",
            metadata: ["job.id": "42"]
        ).formatted(as: .json)
        #expect(text == #"{"ts":"2026-11-27T15:33:01.123Z","level":"info","msg":"Job finished","logger":"scribe.worker","job.id":"42"}"#)
    }

    @Test func everyStringSurvivesTheRoundTrip() throws {
        let nasty = "quote \" backslash \\ newline \n tab \t bell \u{07} nul \u{0} del \u{7F} sep \u{2028} caf\u{E9} \u{1F600}"
        let parsed = try object(["v": .string(nasty), "k\"ey\n": "1"], message: nasty, error: nasty)
        // Every character but NUL, which Scribe's one JSON escaper drops everywhere.
        let kept = nasty.replacingOccurrences(of: "\u{0}", with: "")
        #expect(parsed["v"] as? String == kept)
        #expect(parsed["msg"] as? String == kept)
        #expect(parsed["error"] as? String == kept)
        #expect(parsed["k\"ey\n"] as? String == "1")
        #expect(parsed["level"] as? String == "warning")
    }

    @Test func numbersStayNumbersAndStructuresNest() throws {
        let parsed = try object([
            "count": .stringConvertible(3),
            "rate": .stringConvertible(12.5),
            "bad": .stringConvertible(Double.nan),
            "flag": .stringConvertible(true),
            "text": .string("7"),
            "list": .array([.string("a"), .stringConvertible(1)]),
            "batch": .dictionary(["size": "4"]),
        ])
        #expect(parsed["count"] as? Int == 3)
        #expect(parsed["rate"] as? Double == 12.5)
        #expect(parsed["bad"] as? String == "nan")
        #expect(parsed["flag"] as? Bool == true)
        #expect(parsed["text"] as? String == "7")
        #expect((parsed["list"] as? [Any])?.count == 2)
        // Dictionaries are flattened to dotted keys, as in logfmt.
        #expect(parsed["batch.size"] as? String == "4")
    }
}
