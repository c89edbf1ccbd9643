import Foundation
import JobStore
import Logging

/// The dispatcher's thread: claims due deliveries, resolves and checks their hosts, drives
/// their transfers through one libcurl multi handle, writes attempts back in batches.
/// Everything here is confined to that one thread, except name resolution (on Dispatch's
/// global queue, results posted to `mailbox`).
///
/// One iteration: (re)connect → claim while there is room → start checked transfers →
/// `curl_multi_perform` → collect finished ones → write them back → sleep in
/// `curl_multi_poll` on the transfers' sockets plus the LISTEN connection's socket.
final class DispatchLoop {
    private let configuration: WebhookDispatcherConfiguration
    private let connect: @Sendable () throws -> PostgresConnection
    private let events: DispatcherEvents
    private let multi: CurlMulti
    private let mailbox: ResolutionMailbox
    private let isStopping: () -> Bool
    private let logger: Logger
    private let clock = ContinuousClock()

    private var queue: DeliveryQueue?
    private var listener: PostgresConnection?
    private var inFlight: [UnsafeMutableRawPointer: DeliveryTransfer] = [:]
    private var resolving = 0
    private var unwritten: [DeliveryAttemptRecord] = []
    /// A claim filled every free slot: more may be due, claim again as soon as there is room.
    private var claimSoon = true
    private var nextClaim: ContinuousClock.Instant
    private var nextRescue: ContinuousClock.Instant
    private var nextConnect: ContinuousClock.Instant
    private var reconnectDelay: Duration = .milliseconds(100)
    /// A connection failed since the last successful connect (the next one is a reconnect).
    private var lostConnection = false
    private var drainDeadline: ContinuousClock.Instant?

    init(configuration: WebhookDispatcherConfiguration, connect: @escaping @Sendable () throws -> PostgresConnection,
         events: DispatcherEvents, multi: CurlMulti, mailbox: ResolutionMailbox, isStopping: @escaping () -> Bool,
         logger: Logger) {
        self.configuration = configuration
        self.connect = connect
        self.events = events
        self.multi = multi
        self.mailbox = mailbox
        self.isStopping = isStopping
        self.logger = logger
        nextClaim = clock.now
        nextRescue = clock.now
        nextConnect = clock.now
    }

    private var capacity: Int { configuration.maxInFlight - inFlight.count - resolving }

    func run() throws {
        logger.info("Webhook dispatcher started", metadata: ["webhooks.max_in_flight": "\(configuration.maxInFlight)"])
        while true {
            let now = clock.now
            let stopping = isStopping()
            if stopping && drainDeadline == nil {
                drainDeadline = now + configuration.drainTimeout
                logger.info("Webhook dispatcher draining", metadata: ["webhooks.in_flight": "\(inFlight.count + resolving)"])
            }
            connectIfNeeded(now)
            if !stopping && capacity > 0 && (claimSoon || now >= nextClaim) { claim(now) }
            if now >= nextRescue { rescue(now) }
            startResolved(stopping: stopping)
            try multi.perform()
            collectFinished()
            let pastDeadline = drainDeadline.map { now >= $0 } ?? false
            if pastDeadline { abortInFlight() }
            flush()
            if stopping && inFlight.isEmpty && (resolving == 0 || pastDeadline) { break }
            let readable = try multi.poll(extra: listener?.socketDescriptor, timeoutMilliseconds: sleepMilliseconds())
            if readable { drainNotifications() }
        }
        flush()
        if !unwritten.isEmpty {
            logger.error("Attempts not written back at shutdown", metadata: ["webhooks.unwritten": "\(unwritten.count)"])
        }
        logger.info("Webhook dispatcher stopped")
    }

    // MARK: Database

    private func connectIfNeeded(_ now: ContinuousClock.Instant) {
        guard queue == nil || listener == nil, now >= nextConnect else { return }
        do {
            if queue == nil {
                queue = DeliveryQueue(connection: try connect(), workerID: configuration.workerID, logger: logger)
                claimSoon = true  // deliveries may have become due while we were away
            }
            if listener == nil {
                let connection = try connect()
                try connection.listen(DeliveryQueue.dueChannel)
                listener = connection
            }
            reconnectDelay = .milliseconds(100)
            if lostConnection { events.reconnected() }
            lostConnection = false
        } catch {
            noteDatabaseError()
            logger.warning("Database unreachable", metadata: [
                "error.message": "\(error)", "retry.seconds": "\(reconnectDelay.seconds)",
            ])
            nextConnect = now + reconnectDelay
            reconnectDelay = min(reconnectDelay * 2, configuration.maxReconnectDelay)
        }
    }

    /// Runs `body` on the queue connection; a failure drops both connections (reconnected
    /// with backoff) and gives nil.
    private func withQueue<T>(_ body: (DeliveryQueue) throws -> T) -> T? {
        guard let queue else { return nil }
        do {
            return try body(queue)
        } catch {
            logger.warning("Database statement failed", metadata: ["error.message": "\(error)"])
            noteDatabaseError()
            self.queue = nil
            listener = nil
            nextConnect = clock.now + reconnectDelay
            return nil
        }
    }

    private func noteDatabaseError() {
        lostConnection = true
        events.databaseError()
    }

    private func claim(_ now: ContinuousClock.Instant) {
        let limit = capacity
        guard let claimed = withQueue({ try $0.claim(limit: limit, lease: configuration.lease) }) else { return }
        claimSoon = claimed.count == limit
        nextClaim = now + configuration.pollInterval
        for delivery in claimed { prepare(delivery) }
    }

    private func rescue(_ now: ContinuousClock.Instant) {
        nextRescue = now + configuration.rescueInterval
        let retry = configuration.retry
        _ = withQueue { try $0.rescueExpiredLeases(maxAttempts: retry.maxAttempts, retryDelay: retry.delays[0]) }
    }

    private func drainNotifications() {
        do {
            if let listener, !(try listener.waitForNotifications(timeout: .zero)).isEmpty { claimSoon = true }
        } catch {
            logger.warning("Notification connection lost", metadata: ["error.message": "\(error)"])
            noteDatabaseError()
            listener = nil
            nextConnect = clock.now + reconnectDelay
        }
    }

    /// Writes every finished attempt in one statement; kept for the next try on failure.
    private func flush() {
        guard !unwritten.isEmpty else { return }
        let batch = unwritten
        guard withQueue({ try $0.record(batch) }) != nil else { return }
        unwritten.removeAll()
        // Our own retries come due before the next poll: claim then.
        for record in batch {
            if let delay = record.outcome.retryDelayForClaim { nextClaim = min(nextClaim, clock.now + delay) }
        }
    }

    // MARK: Transfers

    /// Checks the delivery's URL; an address literal is decided here, a host name is
    /// resolved off this thread and decided in `startResolved`.
    private func prepare(_ delivery: ClaimedDelivery) {
        guard let url = WebhookURL(delivery.url) else {
            return refuse(delivery, reason: "callback URL \(delivery.url) cannot be parsed")
        }
        if case .refuse(let reason) = configuration.destinations.precheck(scheme: url.scheme, host: url.host) {
            return refuse(delivery, reason: reason)
        }
        if let literal = IPAddress(url.host) {
            return start(delivery, url: url, decision: configuration.destinations.check(
                scheme: url.scheme, host: url.host, addresses: [literal]))
        }
        resolving += 1
        let mailbox = mailbox
        DispatchQueue.global().async {
            let result = Result { try HostResolver.resolve(url.host) }.mapError { ResolutionFailure(description: "\($0)") }
            mailbox.post(ResolutionMailbox.Resolved(delivery: delivery, url: url, addresses: result))
        }
    }

    private func startResolved(stopping: Bool) {
        for resolved in mailbox.take() {
            resolving -= 1
            if stopping {
                record(DeliveryAttemptRecord(
                    delivery: resolved.delivery.fence, outcome: .interrupted(after: .zero), startedAt: Date(),
                    error: "interrupted: the dispatcher shut down before sending"))
                continue
            }
            switch resolved.addresses {
            case .success(let addresses):
                start(resolved.delivery, url: resolved.url, decision: configuration.destinations.check(
                    scheme: resolved.url.scheme, host: resolved.url.host, addresses: addresses))
            case .failure(let message):
                let (outcome, reason) = configuration.retry.outcome(
                    of: .transportFailure(retryable: true), attempt: resolved.delivery.attemptInRound,
                    age: resolved.delivery.age, random: Double.random(in: 0..<1))
                finish(DeliveryAttemptRecord(
                    delivery: resolved.delivery.fence, outcome: outcome, startedAt: Date(),
                    error: [message.description, reason].compactMap { $0 }.joined(separator: "; ")))
            }
        }
    }

    private func start(_ delivery: ClaimedDelivery, url: WebhookURL, decision: DestinationGuard.Decision) {
        switch decision {
        case .refuse(let reason):
            refuse(delivery, reason: reason)
        case .allow(let addresses):
            do {
                let transfer = try DeliveryTransfer(
                    delivery: delivery, url: url, addresses: addresses, configuration: configuration)
                try multi.add(transfer.easy)
                inFlight[transfer.easy.handle] = transfer
            } catch {
                // An option libcurl rejects: a bug or a library too old, not the receiver's fault.
                finish(DeliveryAttemptRecord(
                    delivery: delivery.fence, outcome: .interrupted(after: configuration.retry.delays[0]),
                    startedAt: Date(), error: "could not start the transfer: \(error)"))
            }
        }
    }

    private func refuse(_ delivery: ClaimedDelivery, reason: String) {
        finish(DeliveryAttemptRecord(
            delivery: delivery.fence, outcome: .refused, startedAt: Date(), error: "refused: \(reason)"))
    }

    private func collectFinished() {
        for (handle, code) in multi.finished() {
            guard let transfer = inFlight.removeValue(forKey: handle) else { continue }
            multi.remove(transfer.easy)
            finish(transfer.record(code: code, policy: configuration.retry))
        }
    }

    private func abortInFlight() {
        for transfer in inFlight.values {
            multi.remove(transfer.easy)
            record(DeliveryAttemptRecord(
                delivery: transfer.delivery.fence, outcome: .interrupted(after: .zero), startedAt: transfer.startedAt,
                latency: transfer.elapsed, error: "interrupted: the dispatcher shut down mid-transfer"))
        }
        if !inFlight.isEmpty {
            logger.warning("In-flight webhooks interrupted by shutdown", metadata: ["webhooks.interrupted": "\(inFlight.count)"])
        }
        inFlight.removeAll()
    }

    private func finish(_ record: DeliveryAttemptRecord) {
        var metadata: Logger.Metadata = [
            "delivery.id": "\(record.delivery.id)", "delivery.attempt": "\(record.delivery.attempt)",
            "delivery.outcome": "\(record.outcome.name)",
        ]
        if let status = record.statusCode { metadata["http.status"] = "\(status)" }
        if let latency = record.latency { metadata["http.latency_ms"] = "\(Int(latency.seconds * 1000))" }
        if let error = record.error { metadata["error.message"] = "\(error)" }
        switch record.outcome {
        case .delivered: logger.info("Webhook delivered", metadata: metadata)
        case .retry: logger.info("Webhook attempt failed, will retry", metadata: metadata)
        case .dead, .refused: logger.warning("Webhook given up", metadata: metadata)
        case .interrupted: logger.info("Webhook attempt interrupted", metadata: metadata)
        }
        self.record(record)
    }

    /// Every ended attempt passes here: kept for the next write-back, and counted.
    private func record(_ attempt: DeliveryAttemptRecord) {
        unwritten.append(attempt)
        events.attemptFinished(attempt.outcome)
    }

    /// Until the next claim, rescue or reconnect is due (libcurl's own timers cap it further).
    private func sleepMilliseconds() -> Int32 {
        let now = clock.now
        var wake = min(nextClaim, nextRescue)
        if queue == nil || listener == nil { wake = min(wake, nextConnect) }
        if let drainDeadline { wake = min(wake, drainDeadline) }
        if claimSoon && capacity > 0 && queue != nil && !isStopping() { wake = now }
        let wait = max(.zero, min(wake - now, configuration.pollInterval))
        return Int32(clamping: Int64((wait.seconds * 1000).rounded(.up)))
    }
}

extension DeliveryAttemptRecord.Outcome {
    var retryDelayForClaim: Duration? {
        switch self {
        case .retry(let after), .interrupted(let after): after
        case .delivered, .dead, .refused: nil
        }
    }
}

/// Name resolutions finished on Dispatch's threads, waiting for the loop to pick them up.
final class ResolutionMailbox: @unchecked Sendable {
    struct Resolved: Sendable {
        var delivery: ClaimedDelivery
        var url: WebhookURL
        var addresses: Result<[IPAddress], ResolutionFailure>
    }

    private let lock = NSLock()
    private var items: [Resolved] = []
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    func post(_ item: Resolved) {
        lock.lock()
        items.append(item)
        lock.unlock()
        wake()
    }

    func take() -> [Resolved] {
        lock.lock()
        defer { lock.unlock() }
        let taken = items
        items.removeAll()
        return taken
    }
}

struct ResolutionFailure: Error, CustomStringConvertible {
    var description: String
}
