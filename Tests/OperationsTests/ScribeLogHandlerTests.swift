import Foundation
import Logging
import Operations
import Synchronization
import Testing

@Suite struct ScribeLogHandlerTests {
    /// Lines as the handler writes them, one output call each.
    final class Lines: Sendable {
        let stored = Mutex<[String]>([])
        var all: [String] { stored.withLock { $0 } }
        var output: LogOutput { LogOutput { line in self.stored.withLock { $0.append(line) } } }
    }

    @Test func writesOneLogfmtLinePerEventAtOrAboveItsLevel() throws {
        let lines = Lines()
        var logger = Logger(label: "scribe.worker") {
            ScribeLogHandler(label: $0, format: .logfmt, level: .info, output: lines.output)
        }
        logger[metadataKey: "worker.id"] = "w1"
        logger.debug("Hidden")
        logger.info("Job finished", metadata: ["job.id": "42", "tokens.out": "17"])
        logger.error("Database lost", metadata: ["worker.id": "override"])

        let written = lines.all
        #expect(written.count == 2)
        #expect(written.allSatisfy { $0.hasSuffix("\n") && $0.dropLast().allSatisfy { $0 != "\n" } })
        let pattern = #/^ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg="Job finished" logger=scribe.worker job.id=42 tokens.out=17 worker.id=w1\n$/#
        #expect(written[0].wholeMatch(of: pattern) != nil, "\(written[0])")
        #expect(written[1].contains(#"level=error msg="Database lost" logger=scribe.worker worker.id=override"#))
    }

    @Test func jsonLinesParse() throws {
        let lines = Lines()
        let logger = Logger(label: "scribe.webhooks") {
            ScribeLogHandler(label: $0, format: .json, level: .trace, output: lines.output)
        }
        logger.trace("Webhook sent", metadata: ["webhook.status": "204"])
        let object = try #require(
            JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: String])
        #expect(object["msg"] == "Webhook sent")
        #expect(object["level"] == "trace")
        #expect(object["logger"] == "scribe.webhooks")
        #expect(object["webhook.status"] == "204")
    }

    @Test func timestampIsCurrentUTC() throws {
        let lines = Lines()
        let logger = Logger(label: "t") { ScribeLogHandler(label: $0, format: .json, output: lines.output) }
        let before = Date()
        logger.info("Now")
        let object = try #require(JSONSerialization.jsonObject(with: Data(lines.all[0].utf8)) as? [String: String])
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let stamp = try #require(formatter.date(from: object["ts"] ?? ""))
        #expect(abs(stamp.timeIntervalSince(before)) < 2)
    }

    @Test func metadataProviderIsMergedUnderExplicitMetadata() {
        let lines = Lines()
        let provider = Logger.MetadataProvider { ["trace.id": "abc", "job.id": "from-provider"] }
        let logger = Logger(label: "t") {
            ScribeLogHandler(label: $0, level: .info, output: lines.output, metadataProvider: provider)
        }
        logger.info("M", metadata: ["job.id": "7"])
        #expect(lines.all[0].hasSuffix("job.id=7 trace.id=abc\n"))
    }

    @Test func levelAndFormatComeFromFlagThenEnvironment() throws {
        #expect(try ScribeLogging.level(flag: nil, environment: [:]) == .info)
        #expect(try ScribeLogging.level(flag: nil, environment: ["SCRIBE_LOG_LEVEL": "DEBUG"]) == .debug)
        #expect(try ScribeLogging.level(flag: "warn", environment: ["SCRIBE_LOG_LEVEL": "debug"]) == .warning)
        #expect(try ScribeLogging.level(flag: nil, environment: ["SCRIBE_LOG_LEVEL": ""]) == .info)
        #expect(throws: ScribeLogging.ConfigurationError.self) {
            try ScribeLogging.level(flag: nil, environment: ["SCRIBE_LOG_LEVEL": "loud"])
        }
        #expect(try ScribeLogging.format(flag: nil, environment: [:]) == .logfmt)
        #expect(try ScribeLogging.format(flag: nil, environment: ["SCRIBE_LOG_FORMAT": "JSON"]) == .json)
        #expect(try ScribeLogging.format(flag: "logfmt", environment: ["SCRIBE_LOG_FORMAT": "json"]) == .logfmt)
        do {
            _ = try ScribeLogging.format(flag: "xml", environment: [:])
            Issue.record("xml accepted")
        } catch {
            #expect(error.description == "--log-format xml is not a format; use logfmt or json")
        }
    }

    @Test func capturedLogsKeepRecordsAndRenderLines() {
        let logs = CapturedLogs()
        let logger = logs.logger(label: "scribe.test", level: .notice)
        logger.info("Dropped")
        logger.notice("Kept", metadata: ["a.b": "c d"])
        #expect(logs.records.map(\.message) == ["Kept"])
        #expect(logs.records.first?.metadata["a.b"] == "c d")
        #expect(logs.lines().first?.hasSuffix(#"level=notice msg=Kept logger=scribe.test a.b="c d""#) == true)
        logs.removeAll()
        #expect(logs.records.isEmpty)
    }
}
