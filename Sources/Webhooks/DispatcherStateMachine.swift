import JobStore
import Logging

/// The webhook dispatcher's decisions, without I/O: events in (deliveries claimed, a host
/// resolved, a transfer ended, a write-back refused, the clock reached a chore), actions
/// out (claim, prepare, send, record, rescue, ...). `DispatchLoop` performs the actions
/// and feeds their outcomes back.
///
/// A delivery holds a slot from its claim until its attempt is written back: claimed →
/// `prepare` (URL checked, host resolved off the loop's thread) → `send` → ended →
/// `record`. Claims, write-backs and rescue are independent: a refused write-back is split
/// until the one attempt at fault stands alone and is dropped (its lease expires and rescue
/// reschedules it), so it can never stop the others.
struct DispatcherStateMachine {
    /// A delivery whose URL passed the guard, with the addresses the transfer may use.
    struct Prepared: Sendable, Equatable {
        var delivery: ClaimedDelivery
        var url: WebhookURL
        var addresses: [IPAddress]
    }

    enum Event: Sendable, Equatable {
        case started
        /// Both connections (claims and LISTEN) are open.
        case connected
        case claimed([ClaimedDelivery])
        /// A claimed delivery is checked and resolved: its transfer may start.
        case prepared(Prepared)
        /// An attempt ended: answered, refused by the guard, unresolvable, or interrupted.
        case ended(DeliveryAttemptRecord)
        case recorded([DeliveryAttemptRecord])
        case rescued
        /// `NOTIFY scribe_webhooks_due` arrived.
        case notified
        case stopRequested
        case connectionLost(error: String)
        /// The clock reached `nextDeadline` (or the driver woke for nothing).
        case tick
        /// An action threw; `connectionLost` when the connection is gone (reconnect, and
        /// what the action held is kept), otherwise the statement was refused.
        case failed(Action, error: String, connectionLost: Bool)
    }

    enum Action: Sendable, Equatable {
        /// Open the claim and LISTEN connections (again after a loss).
        case connect(attempt: Int)
        case claim(limit: Int)
        /// Check the URL against the guard and resolve its host; answer `prepared` or `ended`.
        case prepare(ClaimedDelivery)
        /// Start the transfer; answer `ended` when libcurl is done with it (or at once, as
        /// interrupted, when it cannot start).
        case send(Prepared)
        /// End the attempt unsent, as interrupted by shutdown; answer `ended`.
        case interrupt(ClaimedDelivery)
        /// End every transfer in flight as interrupted; each answers `ended`.
        case abortTransfers
        /// Write ended attempts back in one statement.
        case record([DeliveryAttemptRecord])
        case rescue
        /// Tell the owner's metrics that the database is back.
        case reconnected
        case log(Logger.Level, String, [String: String])
        case exit
    }

    enum Phase: Equatable {
        case running
        case draining(deadline: ContinuousClock.Instant)
        case exited
    }

    let configuration: WebhookDispatcherConfiguration
    private(set) var phase = Phase.running
    private(set) var connected = false
    private var everConnected = false
    private var reconnectAt: ContinuousClock.Instant?
    private var backoff: ReconnectBackoff
    private var connectAttempts = 0

    /// Claimed and being checked or resolved, by delivery.
    private(set) var preparing: [DeliveryAttempt: ClaimedDelivery] = [:]
    /// Handed to libcurl.
    private(set) var sending: Set<DeliveryAttempt> = []
    /// Ended and not yet written back (kept while the database is away).
    private(set) var unwritten: [DeliveryAttemptRecord] = []
    /// Attempts handed to the driver to write back, not yet answered.
    private var recording = 0
    private var claimAsked: Int?
    /// A claim is worth trying now: a notification, or the last claim filled every slot.
    private var claimWanted = true
    private var nextClaim: ContinuousClock.Instant
    /// The earliest retry of our own not yet claimed: a poll does not push the next claim past it.
    private var ownRetryAt: ContinuousClock.Instant?
    private var nextRescue: ContinuousClock.Instant
    private var rescueRunning = false
    private var aborted = false
    /// Draws the reconnect and rescue jitter (seeded in tests).
    private var random: any RandomNumberGenerator

    init(configuration: WebhookDispatcherConfiguration, now: ContinuousClock.Instant,
         random: any RandomNumberGenerator = SystemRandomNumberGenerator()) {
        precondition(configuration.maxInFlight > 0, "maxInFlight must be positive")
        self.configuration = configuration
        nextClaim = now
        nextRescue = now
        backoff = ReconnectBackoff(cap: configuration.maxReconnectDelay)
        self.random = random
    }

    /// Slots left: a delivery holds one from its claim until its attempt is written back.
    var freeSlots: Int {
        configuration.maxInFlight - preparing.count - sending.count - unwritten.count - recording
            - (claimAsked ?? 0)
    }

    /// When the driver must call `handle(.tick)` at the latest if nothing else happens.
    func nextDeadline(now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        if phase == .exited { return now }
        var deadline = now + configuration.pollInterval
        if case .draining(let end) = phase, !aborted { deadline = min(deadline, end) }
        guard connected else { return min(deadline, reconnectAt ?? now) }
        if !rescueRunning { deadline = min(deadline, nextRescue) }
        if phase == .running, claimAsked == nil, freeSlots > 0 { deadline = min(deadline, claimWanted ? now : nextClaim) }
        if !unwritten.isEmpty, recording == 0 { deadline = now }
        return deadline
    }

    // MARK: - Events

    mutating func handle(_ event: Event, now: ContinuousClock.Instant) -> [Action] {
        guard phase != .exited else { return [] }
        var actions: [Action] = []
        switch event {
        case .started:
            connectAttempts = 1
            return [.log(.info, "Webhook dispatcher started", ["webhooks.max_in_flight": "\(configuration.maxInFlight)"]),
                    .connect(attempt: 1)]
        case .connected:
            connected = true
            reconnectAt = nil
            backoff.reset()
            claimWanted = true  // deliveries may have come due while we were away
            if everConnected { actions.append(.reconnected) }
            everConnected = true
        case .claimed(let deliveries):
            claimWanted = claimAsked.map { deliveries.count >= $0 } ?? false
            claimAsked = nil
            nextClaim = now + configuration.pollInterval
            if let at = ownRetryAt { if at <= now { ownRetryAt = nil } else { nextClaim = min(nextClaim, at) } }
            for delivery in deliveries {
                preparing[delivery.fence] = delivery
                actions.append(.prepare(delivery))
            }
        case .prepared(let prepared):
            guard preparing.removeValue(forKey: prepared.delivery.fence) != nil else { break }
            if phase == .running {
                sending.insert(prepared.delivery.fence)
                actions.append(.send(prepared))
            } else {
                sending.insert(prepared.delivery.fence)  // until its interruption ends it
                actions.append(.interrupt(prepared.delivery))
            }
        case .ended(let record):
            let known = sending.remove(record.delivery) != nil || preparing.removeValue(forKey: record.delivery) != nil
            guard known else { break }
            unwritten.append(record)
            actions.append(Self.log(record))
        case .recorded(let records):
            recording -= records.count
            // Slots are free again, and a host held back by its per-host limit may take them.
            if !records.isEmpty { claimWanted = true }
            // Retries of our own come due before the next poll: the claim that follows sets
            // the next one no later than the earliest.
            for delay in records.compactMap(\.outcome.retryDelay) { ownRetryAt = min(ownRetryAt ?? now + delay, now + delay) }
        case .rescued:
            rescueRunning = false
        case .notified:
            claimWanted = true
        case .stopRequested:
            if phase == .running {
                phase = .draining(deadline: now + configuration.drainTimeout)
                actions.append(.log(.info, "Webhook dispatcher draining", [
                    "webhooks.in_flight": "\(preparing.count + sending.count)"]))
            }
        case .connectionLost(let error):
            actions += disconnect(error: error, now: now)
        case .tick:
            break
        case .failed(let action, let error, let connectionLost):
            actions += failed(action, error: error, connectionLost: connectionLost, now: now)
        }
        return actions + dueActions(now: now)
    }

    /// What the clock and the state call for now.
    private mutating func dueActions(now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        if case .draining(let deadline) = phase, now >= deadline, !aborted {
            aborted = true
            if !sending.isEmpty {
                actions.append(.log(.warning, "In-flight webhooks interrupted by shutdown", [
                    "webhooks.interrupted": "\(sending.count)"]))
                actions.append(.abortTransfers)
            }
        }
        guard connected else {
            let exit = exitIfDrained()
            if !exit.isEmpty { return actions + exit }
            if let at = reconnectAt, now >= at {
                reconnectAt = nil
                connectAttempts += 1
                actions.append(.connect(attempt: connectAttempts))
            }
            return actions
        }
        // One write-back at a time: attempts that end meanwhile go out together in the next.
        if !unwritten.isEmpty, recording == 0 {
            recording = unwritten.count
            actions.append(.record(unwritten))
            unwritten = []
        }
        if phase == .running, claimAsked == nil, freeSlots > 0, claimWanted || now >= nextClaim {
            let limit = freeSlots
            claimAsked = limit
            actions.append(.claim(limit: limit))
        }
        if !rescueRunning, now >= nextRescue {
            rescueRunning = true
            nextRescue = now + configuration.rescueInterval * jitter()
            actions.append(.rescue)
        }
        return actions + exitIfDrained()
    }

    private mutating func exitIfDrained() -> [Action] {
        guard case .draining = phase, sending.isEmpty, claimAsked == nil, recording == 0 else { return [] }
        // A resolution cannot be called back: past the deadline its delivery is left to rescue.
        guard preparing.isEmpty || aborted else { return [] }
        if !unwritten.isEmpty {
            // The database is away past the deadline: rescue will reschedule these attempts.
            guard !connected, aborted else { return [] }
            phase = .exited
            return [.log(.error, "Attempts not written back at shutdown", ["webhooks.unwritten": "\(unwritten.count)"]),
                    .exit]
        }
        phase = .exited
        return [.log(.info, "Webhook dispatcher stopped", [:]), .exit]
    }

    // MARK: - Failures

    private mutating func failed(_ action: Action, error: String, connectionLost: Bool, now: ContinuousClock.Instant) -> [Action] {
        var actions: [Action] = []
        var call: String?  // a failed database call worth an error line of its own
        switch action {
        case .connect(let attempt):
            connected = false
            let delay = backoff.wait(using: &random)
            reconnectAt = now + delay
            return [.log(attempt == 1 || attempt % 10 == 0 ? .warning : .debug, "Database unreachable", [
                "error.message": error, "connect.attempt": "\(attempt)",
                "retry.in_ms": "\(Int(delay / .milliseconds(1)))"])]
        case .record(let records):
            recording -= records.count
            if connectionLost {
                unwritten = records + unwritten
            } else {
                actions += split(records, error: error)
            }
        case .claim:
            claimAsked = nil
            claimWanted = false
            nextClaim = now + configuration.pollInterval
            call = "claim"
        case .rescue:
            rescueRunning = false
            call = "rescue"
        default:
            break
        }
        if connectionLost { return actions + disconnect(error: error, now: now) }
        if let call { actions.append(.log(.error, "Database call failed", ["action": call, "error.message": error])) }
        return actions
    }

    private mutating func disconnect(error: String, now: ContinuousClock.Instant) -> [Action] {
        guard connected else { return [] }
        connected = false
        claimAsked = nil
        rescueRunning = false
        reconnectAt = now + backoff.wait(using: &random)
        connectAttempts = 0
        return [.log(.warning, "Database connection lost", [
            "error.message": error, "webhooks.unwritten": "\(unwritten.count)"])]
    }

    /// A refused write-back of several attempts is split in two until the one at fault
    /// stands alone; that one is dropped: its lease expires and rescue reschedules it.
    private mutating func split(_ records: [DeliveryAttemptRecord], error: String) -> [Action] {
        if records.count > 1 {
            let half = records.count / 2
            recording += records.count
            return [.record(Array(records[..<half])), .record(Array(records[half...]))]
        }
        guard let record = records.first else { return [] }
        return [.log(.error, "Attempt refused by the database: left to rescue", [
            "delivery.id": "\(record.delivery.id)", "delivery.attempt": "\(record.delivery.attempt)",
            "error.message": error])]
    }

    /// A factor in [0.8, 1.2]: dispatchers that lost the database together do not return together.
    private mutating func jitter() -> Double { Double.random(in: 0.8...1.2, using: &random) }

    private static func log(_ record: DeliveryAttemptRecord) -> Action {
        var metadata = [
            "delivery.id": "\(record.delivery.id)", "delivery.attempt": "\(record.delivery.attempt)",
            "delivery.outcome": record.outcome.name,
        ]
        if let status = record.statusCode { metadata["http.status"] = "\(status)" }
        if let latency = record.latency { metadata["http.latency_ms"] = "\(Int(latency / .milliseconds(1)))" }
        if let error = record.error { metadata["error.message"] = error }
        switch record.outcome {
        case .delivered: return .log(.info, "Webhook delivered", metadata)
        case .retry: return .log(.info, "Webhook attempt failed, will retry", metadata)
        case .dead, .refused: return .log(.warning, "Webhook given up", metadata)
        case .interrupted: return .log(.info, "Webhook attempt interrupted", metadata)
        }
    }
}
