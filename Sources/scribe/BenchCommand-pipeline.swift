import ScribeCore
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
        /// The engine alone, then the same jobs through the job table and a worker.
        func compare(_ workload: BenchWorkload, path: PipelineMeasurement.Path, concurrency: Int, limit: Int?,
                     round: Int) throws {
            let requests = workload.requests(
                concurrency: concurrency, limit: limit, vocabularySize: model.config.vocabularySize)
            record(PipelineMeasurement(generate: BenchRun.measure(
                model: model, workload: workload.name, requests: requests, concurrency: concurrency,
                products: .panels, tokenBudget: nil, threads: self.model.forwardThreads, logger: logger), round: round))
            record(try EndToEndRun.measure(
                path: path, model: model, database: database, workload: workload.name,
                jobs: EndToEndRun.jobs(workload, limit: limit), concurrency: concurrency, threads: self.model.forwardThreads,
                round: round, logger: logger))
        }
        let queueWorkload = try EndToEndRun.queueWorkload(queueJobs)
        for round in 1...repeats {
            if endToEnd {
                for workload in workloads {
                    for concurrency in concurrencies {
                        try compare(workload, path: .endToEnd, concurrency: concurrency, limit: promptLimit(at: concurrency), round: round)
                    }
                }
            }
            if queue {
                for concurrency in concurrencies {
                    try compare(queueWorkload, path: .queueWorker, concurrency: concurrency, limit: nil, round: round)
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
