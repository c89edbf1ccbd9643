import ScribeCore
import Foundation

/// What one run through the job table (or, for comparison, straight through the engine)
/// measured.
struct PipelineMeasurement: Codable {
    enum Path: String, Codable {
        /// The engine alone, as `scribe generate --input` runs it.
        case generate
        /// INSERT into scribe.jobs → a worker → every result in the table.
        case endToEnd = "end-to-end"
        /// As endToEnd, with jobs generating one token: the queue's overhead per job.
        case queueWorker = "queue: worker"
        /// Claim and complete statements alone, no engine: the database's ceiling.
        case queueSQL = "queue: SQL only"
    }

    var path: Path
    var workload: String
    var concurrency: Int
    var round: Int
    var jobs: Int
    var succeeded: Int
    var promptTokens: Int
    var generatedTokens: Int
    var seconds: Double
    var generatedPerSecond: Double
    var totalPerSecond: Double
    var jobsPerSecond: Double

    init(path: Path, workload: String, concurrency: Int, round: Int, jobs: Int, succeeded: Int,
         promptTokens: Int, generatedTokens: Int, seconds: Double) {
        self.path = path
        self.workload = workload
        self.concurrency = concurrency
        self.round = round
        self.jobs = jobs
        self.succeeded = succeeded
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.seconds = seconds
        generatedPerSecond = Double(generatedTokens) / seconds
        totalPerSecond = Double(promptTokens + generatedTokens) / seconds
        jobsPerSecond = Double(succeeded) / seconds
    }

    init(generate run: BenchMeasurement, round: Int) {
        self.init(path: .generate, workload: run.workload, concurrency: run.concurrency, round: round,
                  jobs: run.requests, succeeded: run.requests - run.errors, promptTokens: run.promptTokens,
                  generatedTokens: run.generatedTokens, seconds: run.seconds)
    }
}

/// The runs of `scribe bench --end-to-end` / `--queue`, as a table, ratios and JSON.
struct PipelineReport: Codable {
    /// Through the job table against the engine alone, on one workload at one concurrency.
    struct Comparison: Codable {
        /// endToEnd, or queueWorker for the 1-token jobs.
        var path: PipelineMeasurement.Path
        var workload: String
        var concurrency: Int
        var generateTokensPerSecond: Double
        var workerTokensPerSecond: Double
        var generateJobsPerSecond: Double
        var workerJobsPerSecond: Double
        /// Median generated tokens/s through the worker over median generate tokens/s.
        var ratio: Double
        /// Each round's worker run over the generate run before it.
        var roundRatios: [Double]
    }

    var machine: BenchMachine
    var model: String
    var runs: [PipelineMeasurement]
    var comparisons: [Comparison]
    /// Median jobs/s of each queue path at each concurrency or batch size.
    var queue: [PipelineMeasurement]

    init(machine: BenchMachine, model: String, runs: [PipelineMeasurement]) {
        self.machine = machine
        self.model = model
        self.runs = runs
        var comparisons: [Comparison] = []
        var queue: [PipelineMeasurement] = []
        var seen = Set<String>()
        for run in runs where seen.insert("\(run.path)/\(run.workload)/\(run.concurrency)").inserted {
            let cell = runs.filter { $0.workload == run.workload && $0.concurrency == run.concurrency }
            switch run.path {
            case .generate:
                let generate = cell.filter { $0.path == .generate }
                let worker = cell.filter { $0.path == .endToEnd || $0.path == .queueWorker }
                guard let path = worker.first?.path else { continue }
                let a = medianOf(generate.map(\.generatedPerSecond)), b = medianOf(worker.map(\.generatedPerSecond))
                comparisons.append(Comparison(
                    path: path, workload: run.workload, concurrency: run.concurrency, generateTokensPerSecond: a,
                    workerTokensPerSecond: b, generateJobsPerSecond: medianOf(generate.map(\.jobsPerSecond)),
                    workerJobsPerSecond: medianOf(worker.map(\.jobsPerSecond)), ratio: b / a,
                    roundRatios: zip(generate, worker).map { $1.generatedPerSecond / $0.generatedPerSecond }))
            case .endToEnd:
                continue
            case .queueWorker, .queueSQL:
                var median = run
                let same = cell.filter { $0.path == run.path }
                median.seconds = medianOf(same.map(\.seconds))
                median.jobsPerSecond = medianOf(same.map(\.jobsPerSecond))
                median.generatedPerSecond = medianOf(same.map(\.generatedPerSecond))
                median.totalPerSecond = medianOf(same.map(\.totalPerSecond))
                queue.append(median)
            }
        }
        self.comparisons = comparisons
        self.queue = queue
    }

    var table: String {
        var rows = [["path", "workload", "conc", "round", "jobs", "ok", "gen tok/s", "total tok/s", "jobs/s", "seconds"]]
        for run in runs {
            rows.append([
                run.path.rawValue, run.workload, "\(run.concurrency)", "\(run.round)", "\(run.jobs)", "\(run.succeeded)",
                format(run.generatedPerSecond, digits: 1), format(run.totalPerSecond, digits: 1),
                format(run.jobsPerSecond, digits: 1), format(run.seconds, digits: 2),
            ])
        }
        var lines = [machine.title(model: model) + ", runs in the order they ran", "", TextTable.render(rows)]
        if !comparisons.isEmpty {
            lines.append("")
            var summary = [["through", "workload", "conc", "generate tok/s", "worker tok/s", "generate jobs/s",
                            "worker jobs/s", "worker / generate", "per round"]]
            for comparison in comparisons {
                summary.append([
                    comparison.path.rawValue, comparison.workload, "\(comparison.concurrency)",
                    format(comparison.generateTokensPerSecond, digits: 1), format(comparison.workerTokensPerSecond, digits: 1),
                    format(comparison.generateJobsPerSecond, digits: 1), format(comparison.workerJobsPerSecond, digits: 1),
                    format(comparison.ratio * 100, digits: 1) + " %",
                    comparison.roundRatios.map { format($0 * 100, digits: 1) }.joined(separator: ", "),
                ])
            }
            lines.append(TextTable.render(summary))
        }
        if !queue.isEmpty {
            lines.append("")
            var summary = [["queue path", "conc or batch", "jobs", "median jobs/s"]]
            for run in queue {
                summary.append([run.path.rawValue, "\(run.concurrency)", "\(run.jobs)", format(run.jobsPerSecond, digits: 1)])
            }
            lines.append(TextTable.render(summary))
        }
        return lines.joined(separator: "\n")
    }

    var json: Data {
        Data(((try? JSONValue(encoding: self, keys: .snakeCase))?.prettyText ?? "{}").utf8)
    }
}
