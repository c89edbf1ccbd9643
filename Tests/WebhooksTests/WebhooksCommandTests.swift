import Foundation
import JobStore
import Testing
import TestSupport
import Webhooks

/// `scribe webhooks …` as operators run it: the binary, with DATABASE_URL.
@Suite struct WebhooksCommandTests {
    /// Unsigned webhooks only when asked: a dispatcher (or worker) without a secret does not start.
    @Test func aDispatcherWithoutASecretRefusesToStart() throws {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = "postgresql://127.0.0.1:9/unused"
        environment["SCRIBE_WEBHOOK_SECRETS"] = nil
        environment["SCRIBE_WEBHOOK_UNSIGNED"] = nil
        let refused = try ChildProcess.run([Executables.scribe, "webhooks", "dispatch"], environment: environment)
        #expect(refused.status != 0)
        #expect(refused.standardError.contains("no webhook signing secret"), "\(refused.standardError)")
        #expect(refused.standardError.contains("--webhook-unsigned"))
    }

    @Test func listAttemptsRedeliverAndNewSecret() throws {
        try IsolatedDatabase.with { database in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = try database.connectionString()
            let run = { (arguments: [String]) throws -> ProcessResult in
                try ChildProcess.run([Executables.scribe, "webhooks"] + arguments, environment: environment)
            }
            let connection = try database.connect()
            let job = try connection.finishJob(callbackURL: "http://169.254.169.254/")
            let id = try #require(try connection.deliveryID(ofJob: job))
            let running = try RunningDispatcher(database, testConfiguration())
            #expect(try waitUntil { try connection.deliveryStatus(id) == .dead })
            running.stop()

            let list = try run(["list", "--status", "dead"])
            #expect(list.status == 0, "\(list.standardError)")
            let lines = list.standardOutput.split(separator: "\n")
            #expect(lines.count == 2 && lines[1].hasPrefix("\(id)"))
            #expect(lines[1].contains("dead") && lines[1].contains("job.succeeded") && lines[1].contains("169.254.0.0/16"))
            #expect(try run(["list", "--status", "delivered"]).standardOutput.split(separator: "\n").count == 1)
            #expect(try run(["list", "--status", "lost"]).status != 0)

            let attempts = try run(["attempts", "\(id)"])
            #expect(attempts.standardOutput.hasPrefix("#1   refused"), "\(attempts.standardOutput)")

            let redeliver = try run(["redeliver", "\(id)", "999999"])
            #expect(redeliver.standardOutput == "\(id) pending\n999999 no such delivery\n")
            #expect(try connection.deliveryStatus(id) == .pending)

            let secret = try run(["new-secret"]).standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try WebhookSecret(secret).text == secret)
        }
    }
}
