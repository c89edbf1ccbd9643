import Engine
import Foundation
import Inference
import JobStore
import Logging
import Operations
import Webhooks

/// The worker daemon: keeps the engine's slots full from the job table, writes results back
/// under its leases, and drains on `shutdown()`. `run()` returns when it has stopped.
///
/// Decisions are `WorkerStateMachine`'s; this class is its driver, on one thread: it
/// performs each action (database statements, engine calls, sd_notify), feeds the outcome
/// back as an event, and sleeps until the next event: finished results, a notification,
/// a stop request, or the machine's next deadline. Nothing polls.
public final class Worker: @unchecked Sendable {
    public let configuration: WorkerConfiguration
    public let identity: WorkerIdentity
    /// Opens a database connection (the worker's two, and again after a loss).
    private let connect: @Sendable () throws -> PostgresConnection
    /// Makes a webhook dispatcher, given the worker's id, to run beside the worker (again
    /// after it stops); nil: none.
    private let makeDispatcher: (@Sendable (String) throws -> WebhookDispatcher)?
    private let logger: Logger
    private let metrics: ScribeMetrics
    private let notifier: SystemdNotifier
    private let loop: GenerationLoop
    private let clock = ContinuousClock()
    private let wakeup: Wakeup

    /// Events from other threads (signals, the dispatcher's thread), taken by the driver.
    private let mailboxLock = NSLock()
    private var stopRequests = 0
    private var dispatcherStops: [String] = []

    /// The driver thread's own.
    private var machine: WorkerStateMachine
    private var database: WorkerDatabase?
    private var dispatcher: DispatcherThread?

    public init(configuration: WorkerConfiguration, model: Model,
                connect: @escaping @Sendable () throws -> PostgresConnection,
                makeDispatcher: (@Sendable (String) throws -> WebhookDispatcher)? = nil,
                logger: Logger, metrics: ScribeMetrics, notifier: SystemdNotifier) throws {
        self.configuration = configuration
        self.connect = connect
        self.makeDispatcher = makeDispatcher
        self.logger = logger
        self.metrics = metrics
        self.notifier = notifier
        identity = WorkerIdentity.current(
            version: ScribeVersion.string, model: configuration.modelName, heartbeatInterval: configuration.heartbeatInterval)
        machine = WorkerStateMachine(configuration: configuration, now: clock.now, seed: UInt64.random(in: 0...UInt64.max))
        let wakeup = try Wakeup()
        self.wakeup = wakeup
        let engine = Engine(model: model, configuration: configuration.engine, logger: logger)
        let watchdog = WatchdogPinger(notifier: notifier)
        loop = GenerationLoop(engine: engine, heartbeat: { [metrics] snapshot in
            metrics.runningSequences.set(Double(snapshot.runningSequences))
            metrics.kvBlocksInUse.set(Double(snapshot.usedBlocks))
            metrics.batchRows.set(Double(snapshot.lastStepRows))
            watchdog.pingIfDue()
        }, resultsReady: { wakeup.signal() })
    }

    /// Asks the worker to stop claiming and drain; a second request ends the drain at once.
    /// Safe from any thread.
    public func shutdown() {
        mailboxLock.withLock { stopRequests += 1 }
        wakeup.signal()
    }

    /// Works until stopped and drained; returns the process's exit code (non-zero when the
    /// worker stopped because a part of it kept failing).
    @discardableResult
    public func run() -> Int32 {
        loop.start()
        logger.info("Worker started", metadata: [
            "worker.id": "\(identity.id)", "model": "\(configuration.modelName)",
            "concurrency": "\(configuration.engine.maxRunning)",
        ])
        var events: [WorkerStateMachine.Event] = [.started]
        var exitCode: Int32?
        while exitCode == nil {
            while !events.isEmpty, exitCode == nil {
                let event = events.removeFirst()
                for action in machine.handle(event, now: clock.now) {
                    if case .exit(let code) = action {
                        exitCode = code
                        break
                    }
                    if let outcome = perform(action) { events.append(outcome) }
                }
            }
            if exitCode == nil { events = waitForEvents(until: machine.nextDeadline(now: clock.now)) }
        }
        dispatcher?.stop()
        loop.stop()
        logger.info("Worker stopped", metadata: ["worker.id": "\(identity.id)", "exit.code": "\(exitCode!)"])
        return exitCode!
    }

    // MARK: - Waiting

    /// Sleeps until something happens or `deadline`; what happened, as events (`tick` when
    /// only the clock did).
    private func waitForEvents(until deadline: ContinuousClock.Instant) -> [WorkerStateMachine.Event] {
        var events = takeMail()
        if events.isEmpty {
            let socket = database?.notifications.connection.socketDescriptor ?? -1
            wakeup.wait(for: [socket], timeout: deadline - clock.now)
            events = takeMail()
        }
        if let database {
            do {
                let notifications = try database.notifications.wait(timeout: .zero)
                if !notifications.isEmpty { events.append(.notified(notifications)) }
            } catch {
                self.database = nil
                events.append(.connectionLost(error: "\(error)"))
            }
        }
        return events + [.tick]
    }

    /// Events other threads left: stop requests, a stopped dispatcher, finished results.
    private func takeMail() -> [WorkerStateMachine.Event] {
        let (stops, dispatcherErrors) = mailboxLock.withLock {
            defer { stopRequests = 0; dispatcherStops = [] }
            return (stopRequests, dispatcherStops)
        }
        var events = [WorkerStateMachine.Event](repeating: .stopRequested, count: stops)
        events += dispatcherErrors.map { .dispatcherStopped(error: $0) }
        let finished = loop.takeFinished()
        if !finished.isEmpty { events.append(.finished(translated(finished))) }
        return events
    }

    private func translated(_ finished: [GenerationResult]) -> [JobResult] {
        finished.compactMap { result in
            guard let id = Int64(result.requestID), let job = machine.inFlight[id] else { return nil }
            metrics.tokensGenerated.add(UInt64(result.completionTokens))
            metrics.promptTokens.add(UInt64(result.promptTokens))
            if result.timings.firstToken > 0 { metrics.timeToFirstToken.observe(result.timings.firstToken) }
            metrics.jobLatency.observe(Date().timeIntervalSince(job.createdAt))
            return JobTranslation.result(result, for: job, tokenizer: loop.engine.model.tokenizer,
                                         maxBytes: configuration.maxResultBytes)
        }
    }

    // MARK: - Actions

    /// Performs one action; its outcome as an event, or nil for actions that have none.
    private func perform(_ action: WorkerStateMachine.Action) -> WorkerStateMachine.Event? {
        do {
            return try performOrThrow(action)
        } catch let error as PostgresError where error.reason == .connection {
            database = nil
            metrics.databaseErrors.increment()
            return .failed(action, error: error.description, connectionLost: true)
        } catch {
            metrics.databaseErrors.increment()
            return .failed(action, error: "\(error)", connectionLost: false)
        }
    }

    private func performOrThrow(_ action: WorkerStateMachine.Action) throws -> WorkerStateMachine.Event? {
        switch action {
        case .connect:
            let fresh = try WorkerDatabase(connect: connect, identity: identity, logger: logger)
            try fresh.registry.register(status: .running)
            database = fresh
            if machine.everConnected { metrics.databaseReconnects.increment() }
            return .connected
        case .claim(let limit):
            let jobs = try connected().queue.claim(limit: limit, model: configuration.modelName, lease: configuration.lease)
            metrics.jobsClaimed.add(UInt64(jobs.count))
            return .claimed(jobs)
        case .submit(let job):
            do {
                loop.submit(try JobTranslation.request(for: job))
                return nil
            } catch {
                logger.notice("Job refused", metadata: ["job.id": "\(job.id)", "error.message": "\(error)"])
                return .refused(job.fence, error: error.description)
            }
        case .cancel(let id):
            loop.cancel(String(id))
            return nil
        case .write(let results):
            let report = try connected().queue.complete(results)
            report.written.values.forEach(countEnd)
            metrics.jobsFinished(.lost).add(UInt64(report.refused.count))
            return .written(report)
        case .release(let jobs):
            let report = try connected().queue.releaseUnfinished(jobs)
            metrics.jobsFinished(.released).add(UInt64(report.written.count))
            return .released(report)
        case .retryLater(let job, let error):
            try connected().queue.retryLater(job, error: error).map(countEnd)
            return .retried(job)
        case .renewLeases(let jobs):
            return .renewed(try connected().queue.renewLeases(jobs, lease: configuration.lease))
        case .rescue:
            let limit = 100
            let rescued = try connected().queue.rescueExpiredLeases(limit: limit)
            // Each counts as the outcome it got, here since its own worker cannot.
            rescued.map(\.status).forEach(countEnd)
            return .choreDone(.rescue, more: rescued.count == limit)
        case .heartbeat(let draining):
            let database = try connected()
            let engine = loop.snapshot
            _ = try database.registry.heartbeat(runningSequences: engine.runningSequences,
                                                tokensPerSecond: engine.tokensPerSecond,
                                                status: draining ? .draining : .running)
            _ = try database.registry.expireStale()
            try? notifier.send(.status(
                "\(engine.runningSequences) sequences running, \(machine.inFlight.count) jobs held, \(Int(engine.tokensPerSecond)) tokens/s"))
            return .choreDone(.heartbeat, more: false)
        case .batchSweep:
            // Any worker expires batches past their completion window and stops the
            // requests of cancelled ones (scribe.cancel_batch from SQL leaves that to us).
            _ = try connected().batches.sweep()
            return .choreDone(.batchSweep, more: false)
        case .retention(let limit):
            guard let retention = configuration.retention else { return .choreDone(.retention, more: false) }
            let database = try connected()
            let pass = try database.queue.deleteFinished(olderThan: retention, limit: limit)
            // The worker holding the retention lock deletes old webhook deliveries too.
            let deliveries = pass.skipped ? 0 : try database.deliveries.deleteFinished(olderThan: retention, limit: limit)
            return .choreDone(.retention, more: pass.deleted == limit || deliveries == limit)
        case .startDispatcher:
            startDispatcher()
            return nil
        case .ready:
            try? notifier.send(.ready)
            return nil
        case .stopping(let drainTimeout):
            try? notifier.send(.stopping, .extendTimeout(drainTimeout + .seconds(30)))
            return nil
        case .status(let text):
            try? notifier.send(.status(text))
            return nil
        case .log(let level, let message, let metadata):
            logger.log(level: level, "\(message)", metadata: metadata.mapValues { .string($0) })
            return nil
        case .deregister:
            try connected().registry.deregister()
            return nil
        case .exit:
            return nil
        }
    }

    /// Counts an attempt's end by the status it reached (`queued`: it will be retried).
    private func countEnd(_ status: JobStatus) {
        switch status {
        case .succeeded: metrics.jobsFinished(.succeeded).increment()
        case .failed: metrics.jobsFinished(.failed).increment()
        case .cancelled: metrics.jobsFinished(.cancelled).increment()
        case .queued: metrics.jobsFinished(.retried).increment()
        default: break
        }
    }

    private func connected() throws -> WorkerDatabase {
        guard let database else { throw PostgresError(.connection, message: "not connected") }
        return database
    }

    private func startDispatcher() {
        guard let makeDispatcher else { return }
        dispatcher?.stop()
        do {
            dispatcher = DispatcherThread(dispatcher: try makeDispatcher(identity.id)) { [self] error in
                mailboxLock.withLock { dispatcherStops.append(error) }
                wakeup.signal()
            }
        } catch {
            mailboxLock.withLock { dispatcherStops.append("\(error)") }
            wakeup.signal()
        }
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

/// Runs a webhook dispatcher on a thread of its own, so generation never waits for
/// receivers; `onStop` hears of it when the dispatcher ends by itself (an error, or a
/// return before `stop()`).
final class DispatcherThread: @unchecked Sendable {
    private let dispatcher: WebhookDispatcher
    private let finished = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var stopping = false

    init(dispatcher: WebhookDispatcher, onStop: @escaping @Sendable (String) -> Void) {
        self.dispatcher = dispatcher
        let thread = Thread { [self] in
            var failure = "the dispatcher returned"
            do {
                try dispatcher.run()
            } catch {
                failure = "\(error)"
            }
            if !lock.withLock({ stopping }) { onStop(failure) }
            finished.signal()
        }
        thread.name = "scribe-webhooks"
        thread.start()
    }

    /// Asks the dispatcher to finish its in-flight sends and waits for it.
    func stop() {
        lock.withLock { stopping = true }
        dispatcher.shutdown()
        finished.wait()
        finished.signal()  // a second stop() returns at once
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
