import ScribeCore
import ArgumentParser
import Dispatch
import Engine
import Foundation
import Inference
import JobStore
import Logging
import Operations
import Webhooks
import Worker

/// The worker daemon.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Claim jobs from scribe.jobs, generate with continuous batching, write results back.",
        discussion: """
            Connects with DATABASE_URL, or the standard libpq variables (PGHOST, PGDATABASE, …) when it is unset.
            SIGTERM or SIGINT: stop claiming, finish in-flight jobs within --drain-timeout, hand back the rest \
            as queued, exit 0. A second signal ends the drain at once.
            """)

    @OptionGroup var model: ModelOption
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var webhooks: WebhookOptions

    @Flag(help: "Do not send completion webhooks from this worker (another process runs `scribe webhooks dispatch`).")
    var noWebhooks = false

    @Option(help: "Jobs naming this model are claimed, besides jobs naming none (default: the model file's name without .gguf).")
    var modelName: String?

    @Option(help: "Sequences generated at once (default: $SCRIBE_CONCURRENCY, else 32).")
    var concurrency: Int?

    @Option(help: "Seconds to finish in-flight jobs after SIGTERM (default: $SCRIBE_DRAIN_TIMEOUT, else 60).")
    var drainTimeout: Double?

    @Option(help: "Seconds a claim is held without renewal (default: $SCRIBE_LEASE, else 30).")
    var lease: Double?

    @Option(help: "Serve Prometheus metrics at /metrics on this port (default: $SCRIBE_METRICS_PORT; off when unset).")
    var metricsPort: Int?

    @Option(help: "Address the metrics server binds (default: $SCRIBE_METRICS_ADDRESS, else 127.0.0.1).")
    var metricsAddress: String?

    @Option(help: "Delete finished jobs and webhook deliveries older than this many days; 0 keeps them (default: $SCRIBE_RETENTION_DAYS, else 14).")
    var retentionDays: Double?

    @Option(help: "Seconds between retention passes (default: $SCRIBE_RETENTION_INTERVAL, else 600).")
    var retentionInterval: Double?

    @Option(help: "A job whose result is larger than this as JSON fails with the reason; at most and by default 64 (default: $SCRIBE_MAX_RESULT_MB).")
    var maxResultMb: Double?

    @Flag(help: "Apply pending database migrations before starting.")
    var migrate = false

    func run() throws {
        logging.bootstrap()
        let logger = Logger(label: "scribe.worker")
        let environment = ProcessEnvironment.current
        func setting<T>(_ flag: T?, _ name: String, _ parse: (String) -> T?, _ fallback: T) -> T {
            flag ?? environment[name].flatMap(parse) ?? fallback
        }
        let notifier = SystemdNotifier(environment: environment)
        let metrics = ScribeMetrics(version: ScribeVersion.string)
        metrics.setBLAS(core: BLAS.coreName, threads: model.engineThreads)
        logBLAS(logger)

        try? notifier.send(.extendTimeout(.seconds(300)), .status("loading model"))
        let start = ContinuousClock.now
        let loaded = try model.load()
        logger.info("Model loaded", metadata: [
            "model.path": "\(model.path)", "model.name": "\(loaded.name)",
            "load.seconds": "\(format((ContinuousClock.now - start).seconds, digits: 2))",
            "weights.mb": "\(loaded.weights.byteCount >> 20)", "weights.layout": "\(loaded.weights.layout.rawValue)",
        ])
        let connectionString = environment["DATABASE_URL"] ?? ""
        if migrate {
            try? notifier.send(.status("migrating the database"))
            let applied = try DatabaseConnection.retrying(wait: .seconds(300), logger: logger) {
                try Migrator(connection: $0, logger: logger).migrate()
            }
            logger.info("Migrations applied", metadata: ["count": "\(applied.count)"])
        }
        let concurrency = setting(concurrency, "SCRIBE_CONCURRENCY", { Int($0) }, 32)
        var configuration = WorkerConfiguration(
            engine: EngineConfiguration(maxRunning: max(1, concurrency), threads: model.forwardThreads),
            modelName: modelName ?? Self.defaultModelName(path: model.path))
        configuration.drainTimeout = .milliseconds(Int(setting(drainTimeout, "SCRIBE_DRAIN_TIMEOUT", { Double($0) }, 60) * 1000))
        configuration.lease = .milliseconds(Int(max(1, setting(lease, "SCRIBE_LEASE", { Double($0) }, 30)) * 1000))
        let days = setting(retentionDays, "SCRIBE_RETENTION_DAYS", { Double($0) }, 14)
        configuration.retention = days > 0 ? .seconds(days * 86400) : nil
        let retentionSeconds = setting(retentionInterval, "SCRIBE_RETENTION_INTERVAL", { Double($0) }, 600)
        configuration.retentionInterval = .milliseconds(Int(max(0.1, retentionSeconds) * 1000))
        let resultMegabytes = setting(maxResultMb, "SCRIBE_MAX_RESULT_MB", { Double($0) }, 64)
        configuration.maxResultBytes = min(JobResult.maxStoredBytes, max(1 << 10, Int(resultMegabytes * 1_048_576)))

        var server: MetricsServer?
        if let port = metricsPort ?? environment["SCRIBE_METRICS_PORT"].flatMap({ Int($0) }) {
            let host = metricsAddress ?? environment["SCRIBE_METRICS_ADDRESS"] ?? MetricsServer.defaultHost
            server = try MetricsServer.start(host: host, port: UInt16(port), registry: metrics.registry, logger: logger)
        }
        defer { server?.stop() }

        let dispatcherConfiguration = try noWebhooks ? nil : webhooks.configuration(workerID: "", environment: environment)
        let worker = try Worker(
            configuration: configuration, model: loaded,
            connect: { try PostgresConnection(connectionString: connectionString) },
            makeDispatcher: dispatcherConfiguration.map { base in
                { @Sendable [metrics, logger] workerID in
                    var settings = base
                    settings.workerID = workerID
                    return try WebhookDispatcher(
                        configuration: settings, connect: { try PostgresConnection(connectionString: connectionString) },
                        events: .recording(into: metrics), logger: logger)
                }
            },
            logger: logger, metrics: metrics, notifier: notifier)
        let signals = [SIGTERM, SIGINT].map { number -> DispatchSourceSignal in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { worker.shutdown() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        let code = worker.run()
        if code != 0 { throw ExitCode(code) }
    }

    static func defaultModelName(path: String) -> String {
        let file = path.split(separator: "/").last.map(String.init) ?? path
        return file.hasSuffix(".gguf") ? String(file.dropLast(5)) : file
    }

    private func logBLAS(_ logger: Logger) {
        let selection = BLASKernelSelection.current
        if let replaced = selection.replacedCore {
            logger.notice("BLAS kernels replaced", metadata: ["blas.core": "\(selection.core)", "blas.replaced": "\(replaced)"])
        } else {
            logger.info("BLAS kernels", metadata: ["blas.core": "\(selection.core)", "blas.threads": "\(model.engineThreads)"])
        }
        logger.info("Integer kernels", metadata: [
            "kernels.set": "\(KernelSet.current.rawValue)",
            "kernels.supported": "\(KernelSet.supported.map(\.rawValue).joined(separator: ","))",
        ])
    }
}
