import ScribeCore
import ArgumentParser
import Engine
import Inference
import JobStore
import Webhooks

#if canImport(Glibc)
import Glibc
#endif

/// Checks the machine, the libraries, the model and the database, one line each.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check CPU, BLAS kernels, libraries, the model file and the database.")

    @Option(help: "GGUF model to check (default: $SCRIBE_MODEL or the cached reference model).")
    var model: String?

    @Option(help: "Seconds to spend measuring sgemm throughput.")
    var gemmSeconds: Double = 1

    func run() throws {
        let environment = ProcessEnvironment.current
        var report = DoctorReport()
        checkCPU(&report)
        checkBLAS(&report)
        checkKernels(&report, environment: environment)
        report.ok("libpq", "version \(formatPostgresVersion(PostgresConnection.libraryVersion))")
        report.ok("libcurl", HTTPClient.libraryVersion)
        checkModel(&report, path: model ?? ModelCache.defaultModelPath(environment: environment))
        checkDatabase(&report, environment: environment)
        print(report.text)
        if report.failed { throw ExitCode(1) }
    }

    private func checkCPU(_ report: inout DoctorReport) {
        let flags = CPUFlags.current
        let listed = ["avx2", "fma", "avx512f"].map { "\($0)=\(flags.contains($0) ? "yes" : "no")" }
        let selection = BLASKernelSelection.current
        report.ok("cpu", "\(listed.joined(separator: " ")) (best BLAS kernels: \(selection.cpu))")
    }

    private func checkBLAS(_ report: inout DoctorReport) {
        let selection = BLASKernelSelection.current
        var line = "\(selection.core) kernels (\(BLASKernelSelection.isa(ofCore: selection.core))), \(BLAS.threadCount) threads"
        if let replaced = selection.replacedCore {
            line += "; OpenBLAS chose \(replaced) and Scribe re-executed with OPENBLAS_CORETYPE=\(selection.core)"
        } else if let user = selection.userCoreType {
            line += "; OPENBLAS_CORETYPE=\(user) set by the user"
        }
        if selection.isOptimal {
            report.ok("blas.core", line)
        } else {
            report.warn("blas.core", line + ": slower than this CPU allows; unset OPENBLAS_CORETYPE or set it to "
                + (selection.cpu == .avx512 ? "SkylakeX" : "Haswell"))
        }
        let gflops = BLAS.measureGFLOPS(seconds: gemmSeconds)
        report.ok("blas.sgemm", "\(format(gflops, digits: 1)) GFLOP/s (64x576 by 576x1536, \(BLAS.threadCount) threads)")
        let threads = EngineConfiguration().threads
        let panels = WeightMatrix.measureGFLOPS(threads: threads, seconds: gemmSeconds)
        report.ok("panels", "\(format(panels, digits: 1)) GFLOP/s (the same product in Scribe's f32 weight kernel, \(threads) threads)")
    }

    /// The integer kernel set in use (what SCRIBE_KERNELS asks, else the best the CPU runs)
    /// and each set's rate on 4- and 8-bit weights.
    private func checkKernels(_ report: inout DoctorReport, environment: [String: String]) {
        let kernels: KernelSet
        do {
            kernels = try KernelSet.selected(environment: environment)
        } catch {
            return report.fail("kernels", "\(error)")
        }
        let runs = KernelSet.supported.map(\.rawValue).joined(separator: ", ")
        let forced = environment["SCRIBE_KERNELS"].map { _ in " as SCRIBE_KERNELS asks" } ?? ""
        report.ok("kernels", "\(kernels)\(forced); this CPU runs \(runs)")
        let threads = EngineConfiguration().threads
        for set in KernelSet.supported {
            let nibbles = WeightMatrix.measureGFLOPS(type: .q4_1, kernels: set, threads: threads, seconds: gemmSeconds / 2)
            let bytes = WeightMatrix.measureGFLOPS(type: .q8_0, kernels: set, threads: threads, seconds: gemmSeconds / 2)
            var line = "\(format(nibbles, digits: 1)) GFLOP/s equivalent with 4-bit weights, "
                + "\(format(bytes, digits: 1)) with 8-bit (the same product, 8-bit activations, \(threads) threads)"
            if let ceiling = set.measureCeiling(seconds: gemmSeconds / 4) {
                line += "; int8 ceiling \(format(ceiling / 1e9, digits: 1)) G multiply-adds/s per thread "
                    + "(\(format(2 * ceiling * Double(threads) / 1e9, digits: 0)) GOP/s on \(threads))"
            }
            report.ok("kernels.\(set.rawValue)", line)
        }
    }

    private func checkModel(_ report: inout DoctorReport, path: String) {
        guard access(path, F_OK) == 0 else {
            report.fail("model", "\(path) not found: run Ops/setup to fetch the reference model, or pass --model")
            return
        }
        do {
            let file = try GGUFFile(path: path)
            let architecture = file.metadata["general.architecture"]?.string ?? "unknown"
            let name = file.metadata["general.name"]?.string ?? "unnamed"
            report.ok("model", "\(path): GGUF v\(file.version), \(name), architecture \(architecture), \(file.tensors.count) tensors")
        } catch {
            report.fail("model", "\(error)")
        }
    }

    private func checkDatabase(_ report: inout DoctorReport, environment: [String: String]) {
        let configured = environment["DATABASE_URL"] != nil || environment.keys.contains { $0.hasPrefix("PG") }
        guard configured else {
            report.warn("database", "not configured: set DATABASE_URL (Ops/pg url prints one for the private server) or PGHOST/PGDATABASE")
            return
        }
        do {
            let connection = try PostgresConnection(environment: environment)
            let version = formatPostgresVersion(connection.serverVersion)
            report.ok("database", "reachable, PostgreSQL \(version)")
        } catch {
            report.fail("database", "\(error)")
        }
    }
}

/// Lines of `OK|WARN|FAIL  name  detail`.
struct DoctorReport {
    private var lines: [(String, String, String)] = []
    private(set) var failed = false

    mutating func ok(_ name: String, _ detail: String) { lines.append(("OK", name, detail)) }
    mutating func warn(_ name: String, _ detail: String) { lines.append(("WARN", name, detail)) }
    mutating func fail(_ name: String, _ detail: String) {
        lines.append(("FAIL", name, detail))
        failed = true
    }

    var text: String {
        lines.map { status, name, detail in
            status.padding(to: 6) + name.padding(to: 12) + detail
        }.joined(separator: "\n")
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}

func formatPostgresVersion(_ number: Int) -> String {
    "\(number / 10000).\(number % 10000)"
}

func format(_ value: Double, digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return "\(rounded)"
}
