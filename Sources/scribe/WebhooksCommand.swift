import ScribeCore
import ArgumentParser
import Dispatch
import JobStore
import Logging
import Webhooks

#if canImport(Glibc)
import Glibc
#endif

/// Looks into and acts on the webhook outbox (`scribe.webhook_deliveries`).
struct WebhooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks",
        abstract: "List, inspect, redeliver and send webhook deliveries.",
        subcommands: [List.self, Attempts.self, Redeliver.self, Dispatch.self, NewSecret.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List deliveries, newest first.")

        @Option(help: "Only deliveries with this status: pending, sending, delivered or dead.")
        var status: String?

        @Option(help: "Only the deliveries of this job.")
        var job: Int64?

        @Option(help: "At most this many rows.")
        var limit = 50

        func validate() throws {
            if let status, DeliveryStatus(rawValue: status) == nil {
                throw ValidationError("--status must be one of pending, sending, delivered, dead")
            }
        }

        func run() throws {
            let queue = try openQueue()
            let rows = try queue.list(
                status: status.flatMap(DeliveryStatus.init(rawValue:)), subjectType: job == nil ? nil : "job",
                subjectID: job, limit: limit)
            print("id".padding(to: 8) + "status".padding(to: 10) + "event".padding(to: 16) + "subject".padding(to: 12)
                + "tries".padding(to: 6) + "http".padding(to: 5) + "created".padding(to: 21) + "url / last error")
            for row in rows {
                print("\(row.id)".padding(to: 8) + row.status.rawValue.padding(to: 10) + row.eventType.padding(to: 16)
                    + "\(row.subjectType) \(row.subjectID)".padding(to: 12) + "\(row.attempts)".padding(to: 6)
                    + (row.lastStatusCode.map { "\($0)" } ?? "-").padding(to: 5) + row.createdAt.padding(to: 21)
                    + row.url + (row.lastError.map { "  (\($0))" } ?? ""))
            }
        }
    }

    struct Attempts: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every attempt of one delivery.")

        @Argument(help: "The delivery's id.")
        var id: Int64

        func run() throws {
            for row in try openQueue().attempts(of: id) {
                let latency = row.latencyMilliseconds.map { "\(Int($0.rounded())) ms" } ?? "-"
                print("#\(row.attempt)".padding(to: 5) + row.outcome.padding(to: 12)
                    + (row.statusCode.map { "\($0)" } ?? "-").padding(to: 5) + latency.padding(to: 10)
                    + row.workerID.padding(to: 20) + (row.error ?? "") + (row.applied ? "" : "  (late: not applied)"))
            }
        }
    }

    struct Redeliver: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue deliveries again (same webhook-id and payload, a fresh attempt budget).")

        @Argument(help: "Delivery ids.")
        var ids: [Int64]

        func run() throws {
            let queue = try openQueue()
            for id in ids {
                print("\(id) \(try queue.redeliver(id)?.rawValue ?? "no such delivery")")
            }
        }
    }

    struct Dispatch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send due webhooks until SIGTERM or SIGINT (workers do this too).")

        @OptionGroup var webhooks: WebhookOptions

        func run() throws {
            let environment = ProcessEnvironment.current
            let logger = Logger(label: "scribe.webhooks") { StreamLogHandler.standardError(label: $0) }
            let configuration = try webhooks.configuration(workerID: defaultWorkerID(), environment: environment)
            if configuration.signer.secrets.isEmpty {
                logger.warning("No webhook secret configured: webhooks are sent unsigned")
            }
            let dispatcher = try WebhookDispatcher(
                configuration: configuration, connect: { try PostgresConnection(environment: environment) },
                logger: logger)
            var sources: [DispatchSourceSignal] = []
            for signalNumber in [SIGTERM, SIGINT] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
                source.setEventHandler { dispatcher.shutdown() }
                source.resume()
                sources.append(source)
            }
            try dispatcher.run()
            sources.forEach { $0.cancel() }
        }
    }

    struct NewSecret: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-secret",
            abstract: "Print a new random signing secret (whsec_…) for SCRIBE_WEBHOOK_SECRETS.")

        func run() {
            print(WebhookSecret.generate().text)
        }
    }
}

private func openQueue() throws -> DeliveryQueue {
    let environment = ProcessEnvironment.current
    let logger = Logger(label: "scribe.webhooks") { StreamLogHandler.standardError(label: $0) }
    return DeliveryQueue(
        connection: try PostgresConnection(environment: environment), workerID: defaultWorkerID(), logger: logger)
}
