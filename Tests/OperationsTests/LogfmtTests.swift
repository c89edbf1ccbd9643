import Logging
import Operations
import Testing

@Suite struct LogfmtTests {
    private func line(_ message: String = "Job finished", _ metadata: Logger.Metadata = [:], error: String? = nil) -> String {
        LogRecord(
            timestamp: "2026-11-27T15:33:01.123Z", level: .info, message: message, label: "scribe.worker",
            metadata: metadata, error: error
        ).formatted(as: .logfmt)
    }

    @Test func plainValuesAreBareAndMetadataIsSortedAfterTheFixedKeys() {
        #expect(line("Job finished", ["tokens.out": "17", "job.id": "42"])
            == #"ts=2026-11-27T15:33:01.123Z level=info msg="Job finished" logger=scribe.worker job.id=42 tokens.out=17"#)
        #expect(line("Started") == "ts=2026-11-27T15:33:01.123Z level=info msg=Started logger=scribe.worker")
    }

    @Test(arguments: [
        ("two words", #""two words""#),
        ("", #""""#),
        ("a=b", #""a=b""#),
        (#"say "hi""#, #""say \"hi\"""#),
        ("line\nbreak", #""line\nbreak""#),
        ("tab\there", #""tab\there""#),
        ("cr\rhere", #""cr\rhere""#),
        (#"back\slash"#, #"back\slash"#),
        (#"back\ and space"#, #""back\\ and space""#),
        ("bell\u{07}", #""bell\u0007""#),
        ("caf\u{E9}", "caf\u{E9}"),
        ("nbsp\u{A0}x", "\"nbsp\u{A0}x\""),
        ("sep\u{2028}", #""sep\u2028""#),
    ])
    func valuesAreQuotedAndEscapedWhenNeeded(value: String, expected: String) {
        #expect(line("m", ["v": .string(value)]).hasSuffix(" v=" + expected))
    }

    @Test func everyQuotedValueReadsBack() {
        for value in ["a b", "x=\"y\"\n\\z", "\u{1B}[31mred", "", "  "] {
            let encoded = String(line("m", ["v": .string(value)]).split(separator: " v=", maxSplits: 1)[1])
            #expect(LogfmtReader.unquote(encoded) == value, "\(encoded)")
        }
    }

    @Test func keysCannotBreakTheLine() {
        #expect(line("m", ["bad key=x\"": "1"]).hasSuffix(" bad_key_x_=1"))
        #expect(line("m", ["": "1"]).hasSuffix(" _=1"))
    }

    @Test func structuredValuesAreFlattened() {
        let text = line("m", [
            "ids": .array([.string("1"), .stringConvertible(2)]),
            "batch": .dictionary(["size": "4", "rows": .dictionary(["prefill": "30"])]),
            "count": .stringConvertible(3),
        ])
        #expect(text.hasSuffix(#" batch.rows.prefill=30 batch.size=4 count=3 ids="[1, 2]""#))
    }

    @Test func reservedKeysAndErrorsDoNotCollide() {
        let text = line("m", ["msg": "other", "level": "x"], error: "connection lost")
        #expect(text == #"ts=2026-11-27T15:33:01.123Z level=info msg=m logger=scribe.worker meta.level=x meta.msg=other error="connection lost""#)
    }
}

/// Reads one logfmt value back, as go-logfmt would.
enum LogfmtReader {
    static func unquote(_ text: String) -> String? {
        guard text.hasPrefix("\"") else { return text }
        guard text.count >= 2, text.hasSuffix("\"") else { return nil }
        var result = ""
        var scalars = Array(text.unicodeScalars.dropFirst().dropLast())[...]
        while let scalar = scalars.popFirst() {
            guard scalar == "\\" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalars.popFirst() {
            case "n": result += "\n"
            case "r": result += "\r"
            case "t": result += "\t"
            case "\"": result += "\""
            case "\\": result += "\\"
            case "u":
                let hex = String(String.UnicodeScalarView(scalars.prefix(4)))
                scalars = scalars.dropFirst(4)
                guard let value = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(value) else { return nil }
                result.unicodeScalars.append(decoded)
            default: return nil
            }
        }
        return result
    }
}
