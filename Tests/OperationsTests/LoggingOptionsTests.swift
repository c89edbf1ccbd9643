import Foundation
import Testing
import TestSupport

/// `--log-format`/`--log-level` as users pass them to the `scribe` binary.
@Suite struct LoggingOptionsTests {
    @Test func migrateWritesJSONLinesWhenAsked() throws {
        try IsolatedDatabase.with(migrated: false) { database in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = try database.connectionString()
            environment["SCRIBE_LOG_FORMAT"] = nil
            environment["SCRIBE_LOG_LEVEL"] = nil
            let result = try ChildProcess.run([Executables.scribe, "migrate", "--log-format", "json"], environment: environment)
            #expect(result.status == 0, "\(result.standardError)")
            let lines = result.standardError.split(separator: "\n")
            #expect(!lines.isEmpty)
            for line in lines {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
                #expect(object["logger"] as? String == "scribe.migrate")
            }
            #expect(lines.contains { $0.contains(#""msg":"Migration applied""#) })

            // Level from the environment: warning hides the info lines.
            environment["SCRIBE_LOG_LEVEL"] = "warning"
            let quiet = try ChildProcess.run([Executables.scribe, "migrate"], environment: environment)
            #expect(quiet.status == 0)
            #expect(quiet.standardError.isEmpty, "\(quiet.standardError)")

            // The flag wins over the environment; logfmt is the default format.
            let verbose = try ChildProcess.run([Executables.scribe, "migrate", "--log-level", "debug"], environment: environment)
            #expect(verbose.standardError.contains(#"level=info msg="Schema up to date" logger=scribe.migrate"#))
        }
    }

    @Test func aBadLevelIsAUsageError() throws {
        let result = try ChildProcess.run([Executables.scribe, "migrate", "--log-level", "loud"])
        #expect(result.status == 64)
        #expect(result.standardError.contains("--log-level loud is not a level; use one of trace, debug, info"))
        var environment = ProcessInfo.processInfo.environment
        environment["SCRIBE_LOG_FORMAT"] = "xml"
        let fromEnvironment = try ChildProcess.run([Executables.scribe, "migrate"], environment: environment)
        #expect(fromEnvironment.status == 64)
        #expect(fromEnvironment.standardError.contains("SCRIBE_LOG_FORMAT=xml is not a format; use logfmt or json"))
    }
}
