import Inference
import JobStore
import Logging

/// The worker's decisions, without I/O: events in (a claim came back, results finished, a
/// write failed, the clock reached a chore), actions out (claim, write, renew, ...).
/// `WorkerDriver` performs the actions and feeds their outcomes back as events.
///
/// Every database chore is an action of its own with its own schedule, so one that fails
/// delays only itself: a refused result write is split until the one job at fault is found
/// and failed with a readable error, while lease renewal, claims and rescue go on.
struct WorkerStateMachine {
    /// Database chores on a schedule of their own.
    enum Chore: String, Sendable, CaseIterable {
        case renewLeases, rescue, heartbeat, batchSweep, retention
    }

    enum Event: Sendable, Equatable {
        case started
        /// Both connections are open and the worker is registered.
        case connected
        case claimed([ClaimedJob])
        /// A claimed job whose input is invalid: it fails without retry.
        case refused(JobAttempt, error: String)
        /// Jobs the generation thread finished (translated into their results).
        case finished([JobResult])
        case written(WriteReport)
        case released(WriteReport)
        case renewed(LeaseRenewal)
        /// A chore finished; `more` says it stopped at its budget with work left.
        case choreDone(Chore, more: Bool)
        /// A retry was written (or refused by the fence: nothing more to do either way).
        case retried(JobAttempt)
        case notified([JobNotification])
        case stopRequested
        /// The webhook dispatcher's thread ended.
        case dispatcherStopped(error: String)
        /// The listening connection was lost.
        case connectionLost(error: String)
        /// The clock reached `nextDeadline` (or the driver woke for nothing).
        case tick
        /// An action threw; `connectionLost` when the connection is gone (reconnect, and
        /// the action's results are kept), otherwise the statement was refused.
        case failed(Action, error: String, connectionLost: Bool)
    }

    enum Action: Sendable, Equatable {
        /// Open the connections, check the schema, register (again after a loss).
        case connect(attempt: Int)
        case claim(limit: Int)
        /// Translate the job into an engine request and submit it (or report `refused`).
        case submit(ClaimedJob)
        /// Stop a job's sequence; it finishes with its partial text.
        case cancel(Int64)
        case write([JobResult])
        case release([JobAttempt])
        /// End the attempt as a failure worth retrying (attempt counted).
        case retryLater(JobAttempt, error: String)
        case renewLeases([JobAttempt])
        case rescue
        case heartbeat(draining: Bool)
        case batchSweep
        /// Delete at most `limit` old finished jobs (and webhook deliveries).
        case retention(limit: Int)
        case startDispatcher
        /// sd_notify `READY=1`, once the model is loaded.
        case ready
        /// sd_notify `STOPPING=1`, with the time the drain may take.
        case stopping(drainTimeout: Duration)
        /// sd_notify `STATUS=`.
        case status(String)
        case log(Logger.Level, String, [String: String])
        case deregister
        case exit(code: Int32)
    }

    enum Phase: Equatable {
        case running
        case draining(deadline: ContinuousClock.Instant)
        case exited
    }

    let configuration: WorkerConfiguration
    private(set) var phase = Phase.running
    private(set) var connected = false
    /// When the next connection attempt is due while disconnected.
    private var reconnectAt: ContinuousClock.Instant?
    private var backoff = ReconnectBackoff(cap: .seconds(5))
    private var connectAttempts = 0
    /// Whether a connection ever succeeded: the next one is a reconnection.
    private(set) var everConnected = false

    /// Claimed and submitted to the engine, by id.
    private(set) var inFlight: [Int64: ClaimedJob] = [:]
    /// Finished and not yet written (kept while the database is away).
    private(set) var unwritten: [JobResult] = []
    /// Jobs whose sequences were stopped to be handed back (drain) or dropped (lease lost).
    private var releasing: Set<Int64> = []
    private var lost: Set<Int64> = []
    private(set) var toRelease: [JobAttempt] = []
    /// Writes, releases and claims handed to the driver and not yet answered.
    private var outstanding = 0
    /// A claim is worth trying now: a notification, a freed slot, or a full last claim.
    private var claimWanted = true
    /// How many jobs the outstanding claim asked for; nil when none is outstanding.
    private var claimAsked: Int?
    private var nextClaimPoll: ContinuousClock.Instant
    /// How many jobs tend to finish at once (the largest recent batch, decaying).
    private(set) var finishingBurst = 0

    private var due: [Chore: ContinuousClock.Instant] = [:]
    private var choreRunning: Set<Chore> = []
    private var stopRequests = 0
    private var exitCode: Int32 = 0
    private var dispatcherDeaths: [ContinuousClock.Instant] = []
    private var dispatcherStartAt: ContinuousClock.Instant?
    private var random: SplitMix64

    /// Retention deletes at most this many jobs per pass; a full pass runs again soon.
    static let retentionBudget = 500
    /// A dispatcher that dies this often within `dispatcherDeathWindow` ends the worker
    /// (non-zero exit: systemd restarts the whole process).
    static let dispatcherDeathLimit = 5
    static let dispatcherDeathWindow = Duration.seconds(300)

    init(configuration: WorkerConfiguration, now: ContinuousClock.Instant, seed: UInt64) {
        self.configuration = configuration
        random = SplitMix64(seed: seed)
        nextClaimPoll = now
        due = [
            .renewLeases: now + configuration.lease / 3,
            .rescue: now,
            .heartbeat: now + configuration.heartbeatInterval,
            .batchSweep: now,
        ]
        if configuration.retention != nil { due[.retention] = now + configuration.retentionInterval / 10 }
    }

    /// When the driver must call `handle(.tick)` at the latest if nothing else happens.
    func nextDeadline(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        if phase == .exited { return now }
        guard connected else { return reconnectAt ?? now }
        var deadline = due.filter { !choreRunning.contains($0.key) }.values.min() ?? now + .seconds(1)
        if case .draining(let drainEnd) = phase { deadline = min(deadline, drainEnd) }
        if phase == .running, claimAsked == nil, freeSlots > 0 { deadline = min(deadline, claimWanted ? now : nextClaimPoll) }
        if !unwritten.isEmpty || !toRelease.isEmpty { deadline = now }
        if let start = dispatcherStartAt { deadline = min(deadline, start) }
        return deadline
    }

    var freeSlots: Int { configuration.capacity(finishingBurst: finishingBurst) - inFlight.count }

    // MARK: - Events

    mutating func handle(_ event: Event, now: ContinuousClock.Instant) -> [Action] {
        guard phase != .exited else { return [] }
        var actions: [Action] = []
        switch event {
        case .started:
            connectAttempts = 1
            // Ready once the model is loaded: a database that is down is waited for, and
            // STATUS says so, rather than failing the start and the unit with it.
            actions += [.ready, .status("connecting to the database"), .connect(attempt: 1)]
            return actions
        case .connected:
            connected = true
            reconnectAt = nil
            backoff.reset()
            claimWanted = true  // work queued while away sent no notification that survived
            if !everConnected {
                everConnected = true
                actions.append(.status("waiting for jobs"))
                if dispatcherStartAt == nil { actions.append(.startDispatcher) }
            } else {
                actions.append(.log(.notice, "Database reconnected", ["results.pending": "\(unwritten.count)"]))
            }
        case .claimed(let jobs):
            outstanding -= 1
            // A full claim says more may be waiting: claim again at once.
            claimWanted = claimAsked.map { jobs.count >= $0 } ?? false
            claimAsked = nil
            nextClaimPoll = now + configuration.pollInterval
            for job in jobs {
                inFlight[job.id] = job
                actions.append(.submit(job))
            }
        case .refused(let job, let error):
            inFlight[job.id] = nil
            unwritten.append(JobResult(id: job.id, attempt: job.attempt, outcome: .failed(error: error)))
            claimWanted = true
        case .finished(let results):
            if !results.isEmpty { finishingBurst = max(results.count, (finishingBurst + results.count) / 2) }
            for result in results {
                guard let job = inFlight.removeValue(forKey: result.id) else { continue }
                if lost.remove(result.id) != nil {
                    releasing.remove(result.id)
                    continue  // another worker owns it now: nothing to write
                }
                if releasing.remove(result.id) != nil {
                    toRelease.append(result.fence)
                    continue
                }
                if case .retry(let error) = result.outcome {
                    actions.append(.log(.error, "Job attempt failed with an internal error: retrying", [
                        "job.id": "\(result.id)", "job.attempt": "\(result.attempt)",
                        "job.max_attempts": "\(job.maxAttempts)", "error.message": error]))
                }
                unwritten.append(result)
            }
            claimWanted = true
        case .written(let report):
            outstanding -= 1
            for job in report.refused {
                actions.append(.log(.warning, "Result refused: the lease was lost", [
                    "job.id": "\(job.id)", "job.attempt": "\(job.attempt)"]))
            }
        case .released:
            outstanding -= 1
        case .renewed(let renewal):
            choreRunning.remove(.renewLeases)
            for job in renewal.cancelling where inFlight[job.id] != nil { actions.append(.cancel(job.id)) }
            for job in renewal.lost where inFlight[job.id] != nil && !lost.contains(job.id) {
                lost.insert(job.id)
                actions.append(.cancel(job.id))
            }
        case .choreDone(let chore, let more):
            choreRunning.remove(chore)
            if more { due[chore] = now + .seconds(1) }
        case .retried:
            outstanding -= 1
        case .notified(let notifications):
            for notification in notifications {
                switch notification {
                case .queued: claimWanted = true
                case .cancel(let id) where inFlight[id] != nil: actions.append(.cancel(id))
                default: break
                }
            }
        case .stopRequested:
            stopRequests += 1
            actions += beginDrain(now: now)
        case .dispatcherStopped(let error):
            dispatcherDeaths = dispatcherDeaths.filter { now - $0 < Self.dispatcherDeathWindow } + [now]
            if dispatcherDeaths.count >= Self.dispatcherDeathLimit {
                actions.append(.log(.critical, "Webhook dispatcher keeps stopping: exiting", [
                    "error.message": "\(error)", "dispatcher.stops": "\(dispatcherDeaths.count)"]))
                exitCode = 1
                stopRequests = max(stopRequests, 1)
                actions += beginDrain(now: now)
            } else if phase == .running {
                let delay = Duration.seconds(1 << min(dispatcherDeaths.count - 1, 5))
                dispatcherStartAt = now + delay
                actions.append(.log(.error, "Webhook dispatcher stopped: restarting", [
                    "error.message": "\(error)", "restart.in_s": "\(delay.components.seconds)"]))
            }
        case .connectionLost(let error):
            actions += disconnect(error: error, now: now)
        case .tick:
            break
        case .failed(let action, let error, let connectionLost):
            actions += failed(action, error: error, connectionLost: connectionLost, now: now)
        }
        actions += dueActions(now: now)
        return actions
    }

    /// What the clock and the state call for now.
    private mutating func dueActions(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        if case .draining(let deadline) = phase, now >= deadline || stopRequests > 1 {
            for id in inFlight.keys.sorted() where !releasing.contains(id) && !lost.contains(id) {
                releasing.insert(id)
                actions.append(.cancel(id))
            }
        }
        if let start = dispatcherStartAt, now >= start, phase == .running {
            dispatcherStartAt = nil
            actions.append(.startDispatcher)
        }
        guard connected else {
            if let at = reconnectAt, now >= at {
                reconnectAt = nil
                connectAttempts += 1
                actions.append(.connect(attempt: connectAttempts))
            }
            return actions + exitIfDrained()
        }
        if !unwritten.isEmpty {
            outstanding += 1
            actions.append(.write(unwritten))
            unwritten = []
        }
        if !toRelease.isEmpty {
            outstanding += 1
            actions.append(.release(toRelease))
            toRelease = []
        }
        if phase == .running, claimAsked == nil, freeSlots > 0, claimWanted || now >= nextClaimPoll {
            outstanding += 1
            claimAsked = freeSlots
            actions.append(.claim(limit: freeSlots))
        }
        for chore in Chore.allCases {
            guard let at = due[chore], now >= at, !choreRunning.contains(chore) else { continue }
            due[chore] = now + interval(of: chore)
            switch chore {
            case .renewLeases:
                let held = inFlight.values.filter { !lost.contains($0.id) }.map(\.fence).sorted { $0.id < $1.id }
                if held.isEmpty { continue }
                choreRunning.insert(chore)
                actions.append(.renewLeases(held))
            case .rescue:
                choreRunning.insert(chore)
                actions.append(.rescue)
            case .heartbeat:
                choreRunning.insert(chore)
                actions.append(.heartbeat(draining: phase != .running))
            case .batchSweep:
                choreRunning.insert(chore)
                actions.append(.batchSweep)
            case .retention:
                choreRunning.insert(chore)
                actions.append(.retention(limit: Self.retentionBudget))
            }
        }
        return actions + exitIfDrained()
    }

    private mutating func interval(of chore: Chore) -> Duration {
        switch chore {
        case .renewLeases: configuration.lease / 3
        // Any worker rescues jobs whose holder stopped renewing (killed, hung, cut off);
        // jittered so workers started together do not all rescue at once.
        case .rescue: configuration.lease / 2 * jitter()
        case .heartbeat: configuration.heartbeatInterval
        case .batchSweep: configuration.batchSweepInterval * jitter()
        case .retention: configuration.retentionInterval
        }
    }

    private mutating func jitter() -> Double { Double.random(in: 0.8...1.2, using: &random) }

    private mutating func beginDrain(now: ContinuousClock.Instant) -> [Action] {
        guard phase == .running else { return [] }
        phase = .draining(deadline: now + configuration.drainTimeout)
        dispatcherStartAt = nil
        return [.stopping(drainTimeout: configuration.drainTimeout),
                .log(.info, "Draining", ["jobs.in_flight": "\(inFlight.count)"])]
    }

    private mutating func exitIfDrained() -> [Action] {
        guard case .draining = phase, inFlight.isEmpty, outstanding == 0 else { return [] }
        if !unwritten.isEmpty || !toRelease.isEmpty {
            // A second stop request while the database is away: leave the rest to rescue
            // (their leases expire and they run again), rather than wait without end.
            guard !connected, stopRequests > 1 else { return [] }
            phase = .exited
            return [.log(.error, "Stopping with results unwritten: their jobs will be rescued", [
                "results.pending": "\(unwritten.count + toRelease.count)"]), .exit(code: exitCode)]
        }
        phase = .exited
        return connected ? [.deregister, .exit(code: exitCode)] : [.exit(code: exitCode)]
    }

    // MARK: - Failures

    private mutating func failed(_ action: Action, error: String, connectionLost: Bool, now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        // What the action owned goes back where it came from, or is resolved here.
        switch action {
        case .write(let results):
            outstanding -= 1
            if connectionLost {
                unwritten = results + unwritten
            } else {
                actions += split(results, error: error)
            }
        case .release(let jobs):
            outstanding -= 1
            if connectionLost {
                toRelease = jobs + toRelease
            } else {
                // Their leases expire and rescue hands them back instead.
                actions.append(.log(.error, "Release refused", ["jobs": "\(jobs.count)", "error.message": "\(error)"]))
            }
        case .retryLater(let job, _):
            outstanding -= 1
            if !connectionLost {
                actions.append(.log(.error, "Job end could not be stored: its lease will expire", [
                    "job.id": "\(job.id)", "error.message": "\(error)"]))
            }
        case .claim:
            outstanding -= 1
            claimAsked = nil
            nextClaimPoll = now + configuration.pollInterval
            claimWanted = false
        case .renewLeases:
            choreRunning.remove(.renewLeases)
            // Sooner than usual: a lease is at stake.
            due[.renewLeases] = min(due[.renewLeases] ?? now, now + .seconds(1))
        case .rescue: choreRunning.remove(.rescue)
        case .heartbeat: choreRunning.remove(.heartbeat)
        case .batchSweep: choreRunning.remove(.batchSweep)
        case .retention: choreRunning.remove(.retention)
        case .connect(let attempt):
            connected = false
            let delay = backoff.wait(using: &random)
            reconnectAt = now + delay
            actions.append(.status(everConnected
                ? "database unavailable, reconnecting (attempt \(attempt)): \(error)"
                : "waiting for the database (attempt \(attempt)): \(error)"))
            actions.append(.log(attempt == 1 || attempt % 10 == 0 ? .warning : .debug, "Database connection failed", [
                "error.message": "\(error)", "connect.attempt": "\(attempt)",
                "retry.in_ms": "\(Int(delay / .milliseconds(1)))"]))
            return actions
        default:
            break
        }
        if connectionLost { return actions + disconnect(error: error, now: now) }
        switch action {
        case .claim, .renewLeases, .rescue, .heartbeat, .batchSweep, .retention:
            actions.append(.log(.error, "Database call failed", ["action": "\(action.name)", "error.message": "\(error)"]))
        default:
            break  // writes, releases and retries said what happened above
        }
        return actions
    }

    private mutating func disconnect(error: String, now: ContinuousClock.Instant) -> [Action] {
        guard connected else { return [] }
        connected = false
        choreRunning = []
        claimAsked = nil
        reconnectAt = now + backoff.wait(using: &random)
        connectAttempts = 0
        return [.log(.warning, "Database connection lost", [
            "error.message": "\(error)", "results.pending": "\(unwritten.count)"])]
    }

    /// A refused write of several results is split in two, each half written on its own,
    /// until the result at fault stands alone; that one is replaced by a failure naming
    /// the reason, and if even that is refused its attempt ends as a retry.
    private mutating func split(_ results: [JobResult], error: String) -> [Action] {
        if results.count > 1 {
            let half = results.count / 2
            outstanding += 2
            return [.write(Array(results[..<half])), .write(Array(results[half...]))]
        }
        guard let result = results.first else { return [] }
        if result.isBare {
            outstanding += 1
            return [.retryLater(result.fence, error: "the job's end could not be stored: \(error)")]
        }
        let failure = JobResult(
            id: result.id, attempt: result.attempt,
            outcome: .failed(error: "the result could not be stored: \(error)"),
            promptTokens: result.promptTokens, completionTokens: result.completionTokens, timings: result.timings)
        outstanding += 1
        return [.log(.error, "Result refused by the database: failing the job", [
                    "job.id": "\(result.id)", "error.message": "\(error)"]),
                .write([failure])]
    }
}

extension WorkerStateMachine.Action {
    /// For logs.
    var name: String {
        switch self {
        case .connect: "connect"
        case .claim: "claim"
        case .submit: "submit"
        case .cancel: "cancel"
        case .write: "write"
        case .release: "release"
        case .retryLater: "retry_later"
        case .renewLeases: "renew_leases"
        case .rescue: "rescue"
        case .heartbeat: "heartbeat"
        case .batchSweep: "batch_sweep"
        case .retention: "retention"
        case .startDispatcher: "start_dispatcher"
        case .ready: "ready"
        case .stopping: "stopping"
        case .status: "status"
        case .log: "log"
        case .deregister: "deregister"
        case .exit: "exit"
        }
    }
}

extension JobResult {
    /// A failure or a retry that carries nothing but its error: the least a write can
    /// hold (refused even so, the attempt ends through `retryLater`).
    var isBare: Bool {
        switch outcome {
        case .failed, .retry: text == nil && choices == nil
        case .succeeded, .cancelled: false
        }
    }
}
