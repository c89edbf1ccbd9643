import Engine
import Foundation
import Inference
import JobStore
import Logging
import Operations
import Webhooks

/// The worker daemon: keeps the engine's slots full from the job table, writes results back
/// under its leases, and drains on `requestStop()`. `run()` returns when it has stopped.
public final class Worker: @unchecked Sendable {
    public let configuration: WorkerConfiguration
    public let identity: WorkerIdentity
    /// Opens a database connection (the worker's two, and again after a loss).
    private let connect: @Sendable () throws -> PostgresConnection
    private let logger: Logger
    private let metrics: ScribeMetrics
    private let notifier: SystemdNotifier
    private let loop: GenerationLoop
    private let clock = ContinuousClock()

    private let stopLock = NSLock()
    private var stopRequests = 0

    private var database: WorkerDatabase?
    private var inFlight: [Int64: ClaimedJob] = [:]
    /// Finished and not yet written (kept while the database is away).
    private var unwritten: [JobResult] = []
    /// Jobs being handed back unfinished at the end of a drain.
    private var releasing: Set<Int64> = []
    private var toRelease: [JobAttempt] = []
    private var reconnectDelay: Duration = .milliseconds(100)
    /// How many jobs tend to finish at once (the largest recent batch, decaying): short jobs
    /// finish a whole batch per step, and as many must be waiting to refill it at the next.
    private var finishingBurst = 0

    public init(configuration: WorkerConfiguration, model: Model,
                connect: @escaping @Sendable () throws -> PostgresConnection,
                logger: Logger, metrics: ScribeMetrics, notifier: SystemdNotifier) {
        self.configuration = configuration
        self.connect = connect
        self.logger = logger
        self.metrics = metrics
        self.notifier = notifier
        identity = WorkerIdentity.current(
            version: ScribeVersion.string, model: configuration.modelName, heartbeatInterval: configuration.heartbeatInterval)
        let engine = Engine(model: model, configuration: configuration.engine, logger: logger)
        let watchdog = WatchdogPinger(notifier: notifier)
        loop = GenerationLoop(engine: engine) { [metrics] engine in
            metrics.runningSequences.set(Double(engine.runningSequences))
            metrics.kvBlocksInUse.set(Double(engine.usedBlocks))
            metrics.batchRows.set(Double(engine.statistics.lastStepRows))
            watchdog.pingIfDue()
        }
    }

    /// Asks the worker to stop claiming and drain; a second request ends the drain at once.
    public func requestStop() {
        stopLock.withLock { stopRequests += 1 }
    }

    private var stopRequested: Int { stopLock.withLock { stopRequests } }

    /// Connects, announces readiness, and works until stopped and drained.
    public func run() throws {
        database = try WorkerDatabase(connect: connect, identity: identity, logger: logger)
        try database!.registry.register(status: .running)
        loop.start()
        try? notifier.send(.ready, .status("waiting for jobs"))
        logger.info("Worker started", metadata: [
            "worker.id": "\(identity.id)", "model": "\(configuration.modelName)",
            "concurrency": "\(configuration.engine.maxRunning)",
        ])
        var schedule = PeriodicTasks(configuration: configuration, now: clock.now)
        var drainDeadline: ContinuousClock.Instant?
        while true {
            let stops = stopRequested
            if stops > 0 && drainDeadline == nil {
                drainDeadline = clock.now + configuration.drainTimeout
                try? notifier.send(.stopping, .extendTimeout(configuration.drainTimeout + .seconds(30)))
                logger.info("Draining", metadata: ["jobs.in_flight": "\(inFlight.count)"])
            }
            if let deadline = drainDeadline, clock.now >= deadline || stops > 1 {
                handBackUnfinished()
            }
            collectFinished()
            if drainDeadline != nil && inFlight.isEmpty && unwritten.isEmpty && toRelease.isEmpty { break }
            do {
                let database = try connected()
                try write(database)
                if drainDeadline == nil { try claim(database) }
                try schedule.run(database: database, worker: self, now: clock.now)
                let wait: Duration = inFlight.isEmpty && drainDeadline == nil ? configuration.pollInterval : .milliseconds(20)
                for notification in try database.notifications.wait(timeout: wait) {
                    if case .cancel(let id) = notification, inFlight[id] != nil { loop.cancel(String(id)) }
                }
            } catch let error as PostgresError where error.kind == .connection {
                disconnect(error)
            } catch {
                metrics.databaseErrors.increment()
                logger.error("Database call failed", metadata: ["error": "\(error)"])
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        loop.stop()
        try? database?.registry.deregister()
        logger.info("Worker stopped", metadata: ["worker.id": "\(identity.id)"])
    }

    // MARK: - Steps of the loop

    private func collectFinished() {
        let finished = loop.takeFinished()
        if !finished.isEmpty { finishingBurst = max(finished.count, (finishingBurst + finished.count) / 2) }
        for result in finished {
            guard let id = Int64(result.requestID), let job = inFlight.removeValue(forKey: id) else { continue }
            if releasing.remove(id) != nil {
                toRelease.append(job.fence)
                metrics.jobsFinished(.released).increment()
                continue
            }
            let jobResult = JobTranslation.result(result, for: job, tokenizer: loop.engine.model.tokenizer)
            unwritten.append(jobResult)
            metrics.tokensGenerated.add(UInt64(result.completionTokens))
            metrics.promptTokens.add(UInt64(result.promptTokens))
            if result.timings.firstToken > 0 { metrics.timeToFirstToken.observe(result.timings.firstToken) }
            metrics.jobLatency.observe(Date().timeIntervalSince(job.createdAt))
        }
    }

    /// At the end of a drain: stop every sequence and give its job back to the queue.
    private func handBackUnfinished() {
        for id in inFlight.keys where !releasing.contains(id) {
            releasing.insert(id)
            loop.cancel(String(id))
        }
    }

    private func write(_ database: WorkerDatabase) throws {
        if !unwritten.isEmpty {
            let report = try database.queue.complete(unwritten)
            for (_, status) in report.written {
                switch status {
                case .succeeded: metrics.jobsFinished(.succeeded).increment()
                case .failed: metrics.jobsFinished(.failed).increment()
                case .cancelled: metrics.jobsFinished(.cancelled).increment()
                default: break
                }
            }
            for refused in report.refused {
                metrics.jobsFinished(.lost).increment()
                logger.warning("Result refused: the lease was lost", metadata: ["job.id": "\(refused.id)", "job.attempt": "\(refused.attempt)"])
            }
            unwritten = []
        }
        if !toRelease.isEmpty {
            _ = try database.queue.releaseUnfinished(toRelease)
            toRelease = []
        }
    }

    private func claim(_ database: WorkerDatabase) throws {
        let free = configuration.capacity(finishingBurst: finishingBurst) - inFlight.count
        guard free > 0 else { return }
        let jobs = try database.queue.claim(limit: free, model: configuration.modelName, lease: configuration.lease)
        for job in jobs {
            metrics.jobsClaimed.increment()
            do {
                let request = try JobTranslation.request(for: job)
                inFlight[job.id] = job
                loop.submit(request)
            } catch {
                logger.notice("Job refused", metadata: ["job.id": "\(job.id)", "error": "\(error)"])
                _ = try database.queue.failWithoutRetry(job.fence, error: error.description)
                metrics.jobsFinished(.failed).increment()
            }
        }
    }

    /// Renews every lease held; jobs found cancelling are stopped, lost ones dropped.
    func renewLeases(_ database: WorkerDatabase) throws {
        guard !inFlight.isEmpty else { return }
        let renewal = try database.queue.renewLeases(inFlight.values.map(\.fence), lease: configuration.lease)
        for job in renewal.cancelling { loop.cancel(String(job.id)) }
        for job in renewal.lost {
            logger.warning("Lease lost", metadata: ["job.id": "\(job.id)"])
            loop.cancel(String(job.id))
            releasing.insert(job.id)  // its result must not be written; releasing is refused harmlessly
        }
    }

    /// Ends the attempts of workers that stopped renewing; each counts as the outcome it
    /// got (`retried` when the job went back to the queue), here since its worker cannot.
    func rescueExpiredLeases(_ database: WorkerDatabase) throws {
        for job in try database.queue.rescueExpiredLeases() {
            switch job.status {
            case .queued: metrics.jobsFinished(.retried).increment()
            case .failed: metrics.jobsFinished(.failed).increment()
            case .cancelled: metrics.jobsFinished(.cancelled).increment()
            default: break
            }
        }
    }

    func heartbeat(_ database: WorkerDatabase) throws {
        let engine = loop.engine
        let rate = engine.statistics.recentTokensPerSecond
        _ = try database.registry.heartbeat(runningSequences: engine.runningSequences, tokensPerSecond: rate,
                                            status: stopRequested > 0 ? .draining : .running)
        try? notifier.send(.status("\(engine.runningSequences) sequences running, \(inFlight.count) jobs held, \(Int(rate)) tokens/s"))
    }

    private func connected() throws -> WorkerDatabase {
        if let database { return database }
        let fresh = try WorkerDatabase(connect: connect, identity: identity, logger: logger)
        _ = try fresh.registry.heartbeat(runningSequences: loop.engine.runningSequences, tokensPerSecond: 0,
                                         status: stopRequested > 0 ? .draining : .running)
        database = fresh
        reconnectDelay = .milliseconds(100)
        metrics.databaseReconnects.increment()
        logger.notice("Database reconnected", metadata: ["results.pending": "\(unwritten.count)"])
        return fresh
    }

    private func disconnect(_ error: PostgresError) {
        if database != nil {
            logger.warning("Database connection lost", metadata: ["error": "\(error)", "results.pending": "\(unwritten.count)"])
        }
        database = nil
        metrics.databaseErrors.increment()
        // Generation goes on meanwhile; results wait in memory.
        let jitter = Double.random(in: 0.8...1.2)
        Thread.sleep(forTimeInterval: Double(reconnectDelay.components.seconds) * jitter
                     + Double(reconnectDelay.components.attoseconds) * 1e-18 * jitter)
        reconnectDelay = min(reconnectDelay * 2, .seconds(5))
    }
}

/// The worker's connections: one for statements, one listening for notifications.
final class WorkerDatabase {
    let queue: JobQueue
    let notifications: JobNotifications
    let registry: WorkerRegistry
    /// Only for retention: the webhook dispatcher claims deliveries on connections of its own.
    let deliveries: DeliveryQueue
    let batches: BatchStore

    init(connect: () throws -> PostgresConnection, identity: WorkerIdentity, logger: Logger) throws {
        let connection = try connect()
        try Migrator(connection: connection, logger: logger).checkCompatible()
        queue = JobQueue(connection: connection, workerID: identity.id, logger: logger)
        registry = WorkerRegistry(connection: connection, identity: identity, logger: logger)
        deliveries = DeliveryQueue(connection: connection, workerID: identity.id, logger: logger)
        batches = BatchStore(connection: connection, logger: logger)
        notifications = try JobNotifications(connection: connect(), logger: logger)
    }
}

/// Sends `WATCHDOG=1` at half the watchdog interval; used only by the generation thread.
final class WatchdogPinger: @unchecked Sendable {
    private let notifier: SystemdNotifier
    private var timer: WatchdogTimer?

    init(notifier: SystemdNotifier) {
        self.notifier = notifier
        timer = notifier.watchdog.map { WatchdogTimer(interval: $0.pingInterval) }
    }

    func pingIfDue() {
        if timer?.isDue() == true { try? notifier.send(.watchdog) }
    }
}
