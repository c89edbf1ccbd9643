import ScribeCore
import Foundation
import Inference
import Engine

/// Where the benchmark ran.
struct BenchMachine: Codable {
    var cpu: String
    var cores: Int
    var blasCore: String
    /// The integer kernel set (`KernelSet`); nil in reports written before there were sets.
    var kernels: String?
    /// Threads of the forward pass; each runs its own single-threaded OpenBLAS calls.
    var threads: Int

    static func current(threads: Int) -> BenchMachine {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let name = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return BenchMachine(cpu: name, cores: ProcessInfo.processInfo.activeProcessorCount,
                            blasCore: BLAS.coreName, kernels: KernelSet.current.rawValue, threads: threads)
    }
}

extension BenchMachine {
    func title(model: String) -> String {
        "\(model) on \(cpu) (\(cores) cores), OpenBLAS \(blasCore), kernels \(kernels ?? "avx2"), "
            + "\(threads) thread\(threads == 1 ? "" : "s")"
    }
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
func medianOf(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    let count = sorted.count
    return count % 2 == 1 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2
}

/// Rows of cells as aligned text, the first row being the header.
enum TextTable {
    static func render(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max()! }
        return rows.map { row in
            row.indices.map { column in
                // Names left-aligned, figures right-aligned.
                let cell = row[column]
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + padding : padding + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// The runs of one benchmark, as a table of medians and as JSON.
struct BenchReport: Codable {
    var machine: BenchMachine
    var model: String
    var repeats: Int
    /// Median of the repeats of each (workload, concurrency, batch invariance), in run order.
    var results: [BenchMeasurement]
    /// Every run, in the order they ran.
    var runs: [BenchMeasurement]

    init(machine: BenchMachine, model: String, repeats: Int, runs: [BenchMeasurement]) {
        self.machine = machine
        self.model = model
        self.repeats = repeats
        self.runs = runs
        var cells: [String: [BenchMeasurement]] = [:]
        var order: [String] = []
        for run in runs {
            let key = "\(run.workload)/\(run.concurrency)/\(run.products)"
            if cells[key] == nil { order.append(key) }
            cells[key, default: []].append(run)
        }
        results = order.map { Self.median(cells[$0]!) }
    }

    /// Each rate and time is the median over the repeats; counts are the first run's.
    static func median(_ runs: [BenchMeasurement]) -> BenchMeasurement {
        func middle(_ value: (BenchMeasurement) -> Double) -> Double { medianOf(runs.map(value)) }
        var result = runs[0]
        result.seconds = middle(\.seconds)
        result.generatedPerSecond = middle(\.generatedPerSecond)
        result.totalPerSecond = middle(\.totalPerSecond)
        result.decodePerSecond = middle(\.decodePerSecond)
        result.firstTokenP50 = middle(\.firstTokenP50)
        result.firstTokenP95 = middle(\.firstTokenP95)
        result.peakResidentMB = middle(\.peakResidentMB)
        result.setupSeconds = middle(\.setupSeconds)
        return result
    }

    var table: String {
        let showProducts = Set(results.map(\.products)).count > 1
        var header = ["workload", "conc"]
        if showProducts { header.append("products") }
        header += ["prompts", "gen tok/s", "total tok/s", "decode tok/s", "TTFT p50 s", "TTFT p95 s",
                   "peak MB", "prefix hits", "seconds"]
        var rows = [header]
        for run in results {
            var row = [run.workload, "\(run.concurrency)"]
            if showProducts { row.append(run.products.rawValue) }
            row += [
                "\(run.requests)", format(run.generatedPerSecond, digits: 1), format(run.totalPerSecond, digits: 1),
                format(run.decodePerSecond, digits: 1), format(run.firstTokenP50, digits: 2),
                format(run.firstTokenP95, digits: 2), "\(Int(run.peakResidentMB.rounded()))",
                "\(run.prefixHitTokens)", format(run.seconds, digits: 1),
            ]
            rows.append(row)
        }
        let title = machine.title(model: model) + (repeats > 1 ? ", median of \(repeats) interleaved runs" : "")
        return title + "\n\n" + TextTable.render(rows)
    }

    var json: Data {
        Data(((try? JSONValue(encoding: self, keys: .snakeCase))?.prettyText ?? "{}").utf8)
    }
}
