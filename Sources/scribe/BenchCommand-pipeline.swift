import Foundation
import Inference
import Logging

extension BenchCommand {
    /// `--end-to-end` and `--queue`: runs through the job table, each round alternating
    /// the paths compared so they see the same machine.
    func runPipeline(model: Model, workloads: [BenchWorkload], machine: BenchMachine, logger: Logger) throws {
        let database = try BenchDatabase(serverURL: ProcessEnvironment.current["DATABASE_URL"] ?? "", logger: logger)
        defer { database.drop() }
        stderr("bench: scratch database \(database.name)")
        var runs: [PipelineMeasurement] = []
        func record(_ run: PipelineMeasurement) {
            stderr("bench: round \(run.round)/\(repeats) \(run.path.rawValue) \(run.workload) c=\(run.concurrency): "
                + "\(format(run.seconds, digits: 1)) s, \(format(run.generatedPerSecond, digits: 1)) generated tok/s, "
                + "\(format(run.jobsPerSecond, digits: 1)) jobs/s")
            if run.succeeded < run.jobs { stderr("bench: \(run.jobs - run.succeeded) jobs did not succeed") }
            runs.append(run)
        }
        for round in 1...repeats {
            if endToEnd {
                for workload in workloads {
                    for concurrency in concurrencies {
                        let count = promptLimit(at: concurrency)
                        let requests = workload.requests(
                            concurrency: concurrency, limit: count, vocabularySize: model.config.vocabularySize)
                        record(PipelineMeasurement(generate: BenchRun.measure(
                            model: model, workload: workload.name, requests: requests, concurrency: concurrency,
                            batchInvariant: true, tokenBudget: nil, logger: logger), round: round))
                        record(try EndToEndRun.measure(
                            path: .endToEnd, model: model, database: database, workload: workload.name,
                            jobs: EndToEndRun.jobs(workload, limit: count), concurrency: concurrency, round: round,
                            logger: logger))
                    }
                }
            }
            if queue {
                for concurrency in concurrencies {
                    record(try EndToEndRun.measure(
                        path: .queueWorker, model: model, database: database, workload: "1-token",
                        jobs: EndToEndRun.queueJobs(queueJobs), concurrency: concurrency, round: round, logger: logger))
                    record(try EndToEndRun.measureStatements(
                        database: database, count: queueJobs, batch: concurrency, round: round, logger: logger))
                }
            }
        }
        let report = PipelineReport(machine: machine, model: model.name, runs: runs)
        print(report.table)
        if let json {
            try report.json.write(to: URL(fileURLWithPath: json))
            stderr("bench: wrote \(json)")
        }
    }
}
