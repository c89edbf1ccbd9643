import ScribeCore
import Engine
import Foundation
import Inference
import JobStore
import Logging
import Operations
import Webhooks
import Worker

/// Runs jobs through the job table and a `Worker` (the daemon's code, in this process,
/// sharing the loaded model), from the INSERT until the last `scribe_job_done`.
enum EndToEndRun {
    static func measure(
        path: PipelineMeasurement.Path, model: Model, database: BenchDatabase, workload: String, jobs: [JSONValue],
        concurrency: Int, threads: Int?, round: Int, logger: Logger
    ) throws -> PipelineMeasurement {
        try database.empty()
        var configuration = WorkerConfiguration(engine: EngineConfiguration(maxRunning: concurrency, threads: threads), modelName: "bench")
        configuration.retention = nil
        let worker = try Worker(configuration: configuration, model: model, connect: { try database.connect() }, logger: logger,
                            metrics: ScribeMetrics(version: ScribeVersion.string), notifier: SystemdNotifier(environment: [:]))
        let stopped = DispatchSemaphore(value: 0)
        let thread = Thread {
            worker.run()
            stopped.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        defer {
            worker.shutdown()
            stopped.wait()
        }

        let connection = try database.connect()
        // Ready once registered: model in memory, engine built, both connections open.
        let readyBy = ContinuousClock.now + .seconds(60)
        while try connection.query("SELECT count(*) FROM scribe.workers").scalar != "1" {
            guard ContinuousClock.now < readyBy else { throw BenchDatabaseError(description: "the worker did not start") }
            Thread.sleep(forTimeInterval: 0.01)
        }
        let done = try JobNotifications(connection: database.connect(), channels: [.jobDone], logger: logger)

        let start = ContinuousClock.now
        try BenchDatabase.enqueue(jobs, on: connection)
        var finished = 0
        var lastProgress = start
        while finished < jobs.count {
            let arrived = try done.wait(timeout: .seconds(1)).count
            finished += arrived
            if arrived > 0 {
                lastProgress = .now
            } else if ContinuousClock.now - lastProgress > .seconds(300) {
                throw BenchDatabaseError(description: "no job finished for 5 minutes (\(finished) of \(jobs.count) done)")
            }
        }
        let seconds = (ContinuousClock.now - start).seconds
        let row = try connection.query(
            """
            SELECT count(*) FILTER (WHERE status = 'succeeded'), coalesce(sum(prompt_tokens), 0),
                   coalesce(sum(completion_tokens), 0)
            FROM scribe.jobs
            """).rows[0].map { Int($0 ?? "") ?? 0 }
        return PipelineMeasurement(
            path: path, workload: workload, concurrency: concurrency, round: round, jobs: jobs.count,
            succeeded: row[0], promptTokens: row[1], generatedTokens: row[2], seconds: seconds)
    }

    /// Claims and completes `count` jobs with plain statements, `batch` at a time, with no
    /// engine behind them.
    static func measureStatements(database: BenchDatabase, count: Int, batch: Int, round: Int, logger: Logger) throws
        -> PipelineMeasurement
    {
        try database.empty()
        let connection = try database.connect()
        try BenchDatabase.enqueue(jobs(queueWorkload(count), limit: nil), on: connection)
        let queue = JobQueue(connection: connection, workerID: "bench-statements", logger: logger)
        var succeeded = 0
        let start = ContinuousClock.now
        while true {
            let claimed = try queue.claim(limit: batch, model: nil, lease: .seconds(30))
            if claimed.isEmpty { break }
            let results = claimed.map {
                JobResult(id: $0.id, attempt: $0.attempt, outcome: .succeeded, text: ".", finishReason: "length",
                          promptTokens: 1, completionTokens: 1)
            }
            succeeded += try queue.complete(results).written.count
        }
        let seconds = (ContinuousClock.now - start).seconds
        return PipelineMeasurement(
            path: .queueSQL, workload: "1-token", concurrency: batch, round: round, jobs: count,
            succeeded: succeeded, promptTokens: succeeded, generatedTokens: succeeded, seconds: seconds)
    }

    /// Short prompts generating one token each: what is measured is the queue.
    static func queueWorkload(_ count: Int) throws -> BenchWorkload {
        let objects: [[String: JSONValue]] = (1...max(count, 1)).map { index in
            ["prompt": .string("Job number \(index) says"), "max_tokens": .integer(1), "temperature": .integer(0)]
        }
        let requests = try objects.enumerated().map { index, object in
            try GenerationRequest.parse(object, id: String(index + 1))
        }
        return BenchWorkload(name: "1-token", source: .requests(requests), objects: objects)
    }

    /// A workload file's lines as job rows: `prompt` or `messages` in their columns, every
    /// other field but `id` in `params`.
    static func jobs(_ workload: BenchWorkload, limit: Int?) -> [JSONValue] {
        workload.objects.prefix(limit ?? workload.objects.count).map { object in
            var params = object
            var row: [String: JSONValue] = [:]
            for key in ["id", "prompt", "messages"] { params[key] = nil }
            row["prompt"] = object["prompt"]
            row["messages"] = object["messages"]
            row["params"] = .object(params)
            return .object(row)
        }
    }
}
