import ArgumentParser
import Logging

@main
struct ScribeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scribe",
        abstract: "Batch text generation from a PostgreSQL job queue.",
        subcommands: [DoctorCommand.self, TokenizeCommand.self, GenerateCommand.self, BenchCommand.self, WorkerCommand.self,
                      MigrateCommand.self, StatusCommand.self, WaitCommand.self, WebhooksCommand.self, BatchCommand.self])
}
