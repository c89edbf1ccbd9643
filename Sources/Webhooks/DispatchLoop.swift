import Foundation
import JobStore
import Logging

/// The dispatcher's driver: performs `DispatcherStateMachine`'s actions and feeds their
/// outcomes back, on one thread. Transfers run on one libcurl multi handle; host names are
/// resolved on Dispatch's global queue (results posted to `mailbox`). It sleeps in
/// `curl_multi_poll` on the transfers' sockets, the LISTEN connection's socket and
/// `multi.wakeup()` (a resolution or a stop request) until the machine's next deadline.
final class DispatchLoop {
    private let configuration: WebhookDispatcherConfiguration
    private let connect: @Sendable () throws -> PostgresConnection
    private let events: DispatcherEvents
    private let multi: CurlMulti
    private let mailbox: ResolutionMailbox
    private let isStopping: () -> Bool
    private let logger: Logger
    private let clock = ContinuousClock()
    private var machine: DispatcherStateMachine

    private var queue: DeliveryQueue?
    private var listener: PostgresConnection?
    private var transfers: [UnsafeMutableRawPointer: DeliveryTransfer] = [:]
    private var stopSeen = false

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
        machine = DispatcherStateMachine(configuration: configuration, now: clock.now)
    }

    func run() throws {
        var pending: [DispatcherStateMachine.Event] = [.started]
        while true {
            while !pending.isEmpty {
                let event = pending.removeFirst()
                if case .ended(let record) = event { events.attemptFinished(record.outcome) }
                for action in machine.handle(event, now: clock.now) {
                    if action == .exit { return }
                    pending += try perform(action)
                }
            }
            try multi.perform()
            pending += collectFinished() + mailbox.take()
            if !stopSeen, isStopping() {
                stopSeen = true
                pending.append(.stopRequested)
            }
            guard pending.isEmpty else { continue }
            let wait = max(.zero, machine.nextDeadline(now: clock.now) - clock.now)
            if try multi.poll(extra: listener?.socketDescriptor, timeoutMilliseconds: wait.pollMilliseconds) {
                pending += notifications()
            }
            pending += collectFinished() + mailbox.take()
            pending.append(.tick)
        }
    }

    // MARK: - Actions

    /// Performs one action; the events it produced at once (a database answer, an attempt
    /// decided without sending).
    private func perform(_ action: DispatcherStateMachine.Action) throws -> [DispatcherStateMachine.Event] {
        do {
            switch action {
            case .connect:
                queue = nil
                listener = nil
                let claims = DeliveryQueue(
                    connection: try connect(), workerID: configuration.workerID, limits: configuration.perDestination,
                    logger: logger)
                let connection = try connect()
                try connection.listen(DeliveryQueue.dueChannel)
                queue = claims
                listener = connection
                return [.connected]
            case .claim(let limit):
                return [.claimed(try connected().claim(limit: limit, lease: configuration.lease))]
            case .prepare(let delivery):
                return prepare(delivery).map { [$0] } ?? []
            case .send(let prepared):
                return send(prepared).map { [$0] } ?? []
            case .interrupt(let delivery):
                return [.ended(DeliveryAttemptRecord(
                    delivery: delivery.fence, outcome: .interrupted(after: .zero), startedAt: Date(),
                    error: "interrupted: the dispatcher shut down before sending"))]
            case .abortTransfers:
                return abortTransfers()
            case .record(let records):
                try connected().record(records)
                return [.recorded(records)]
            case .rescue:
                let retry = configuration.retry
                try connected().rescueExpiredLeases(maxAttempts: retry.maxAttempts, retryDelay: retry.delays[0])
                return [.rescued]
            case .reconnected:
                events.reconnected()
                return []
            case .log(let level, let message, let metadata):
                logger.log(level: level, "\(message)", metadata: metadata.mapValues { .string($0) })
                return []
            case .exit:
                return []
            }
        } catch let error as PostgresError {
            events.databaseError()
            let lost = error.reason == .connection || queue == nil
            if lost {
                queue = nil
                listener = nil
            }
            return [.failed(action, error: error.description, connectionLost: lost)]
        }
    }

    private func connected() throws -> DeliveryQueue {
        guard let queue else { throw PostgresError(.connection, message: "not connected") }
        return queue
    }

    /// The LISTEN connection's news: a delivery came due, or the connection is gone.
    private func notifications() -> [DispatcherStateMachine.Event] {
        guard let listener else { return [] }
        do {
            return try listener.waitForNotifications(timeout: .zero).isEmpty ? [] : [.notified]
        } catch {
            events.databaseError()
            queue = nil
            self.listener = nil
            return [.connectionLost(error: "\(error)")]
        }
    }

    // MARK: - Transfers

    /// Checks the delivery's URL: an address literal is decided here, a host name is
    /// resolved off this thread and decided when its answer is taken from the mailbox.
    private func prepare(_ delivery: ClaimedDelivery) -> DispatcherStateMachine.Event? {
        guard let url = WebhookURL(delivery.url) else {
            let hint = delivery.url.allSatisfy(\.isASCII) ? "" : " (write a host with non-ASCII letters in punycode, xn--…)"
            return Self.refused(delivery, reason: "callback URL \(delivery.url) cannot be parsed\(hint)")
        }
        if case .refuse(let reason) = configuration.destinations.precheck(scheme: url.scheme, host: url.host) {
            return Self.refused(delivery, reason: reason)
        }
        if let literal = IPAddress(url.host) {
            return Self.checked(delivery, url: url, addresses: [literal], guard: configuration.destinations)
        }
        let (mailbox, destinations, retry, resolve) = (mailbox, configuration.destinations, configuration.retry, configuration.resolve)
        DispatchQueue.global().async {
            let event: DispatcherStateMachine.Event
            do {
                event = Self.checked(delivery, url: url, addresses: try resolve(url.host), guard: destinations)
            } catch {
                let (outcome, reason) = retry.outcome(
                    of: .transportFailure(.transient), attempt: delivery.attemptInRound, age: delivery.age,
                    random: Double.random(in: 0..<1))
                event = .ended(DeliveryAttemptRecord(
                    delivery: delivery.fence, outcome: outcome, startedAt: Date(),
                    error: ["\(error)", reason].compactMap { $0 }.joined(separator: "; ")))
            }
            mailbox.post(event)
        }
        return nil
    }

    private static func checked(_ delivery: ClaimedDelivery, url: WebhookURL, addresses: [IPAddress],
                                guard destinations: DestinationGuard) -> DispatcherStateMachine.Event {
        switch destinations.check(scheme: url.scheme, host: url.host, addresses: addresses) {
        case .refuse(let reason): refused(delivery, reason: reason)
        case .allow(let allowed): .prepared(.init(delivery: delivery, url: url, addresses: allowed))
        }
    }

    private static func refused(_ delivery: ClaimedDelivery, reason: String) -> DispatcherStateMachine.Event {
        .ended(DeliveryAttemptRecord(delivery: delivery.fence, outcome: .refused, startedAt: Date(), error: "refused: \(reason)"))
    }

    private func send(_ prepared: DispatcherStateMachine.Prepared) -> DispatcherStateMachine.Event? {
        do {
            let transfer = try DeliveryTransfer(
                delivery: prepared.delivery, url: prepared.url, addresses: prepared.addresses, configuration: configuration)
            try multi.add(transfer.easy)
            transfers[transfer.easy.handle] = transfer
            return nil
        } catch {
            // An option libcurl rejects: a bug or a library too old, not the receiver's fault.
            return .ended(DeliveryAttemptRecord(
                delivery: prepared.delivery.fence, outcome: .interrupted(after: configuration.retry.delays[0]),
                startedAt: Date(), error: "could not start the transfer: \(error)"))
        }
    }

    private func collectFinished() -> [DispatcherStateMachine.Event] {
        multi.finished().compactMap { handle, code in
            guard let transfer = transfers.removeValue(forKey: handle) else { return nil }
            multi.remove(transfer.easy)
            return .ended(transfer.record(code: code, policy: configuration.retry))
        }
    }

    private func abortTransfers() -> [DispatcherStateMachine.Event] {
        defer { transfers.removeAll() }
        return transfers.values.map { transfer in
            multi.remove(transfer.easy)
            return .ended(DeliveryAttemptRecord(
                delivery: transfer.delivery.fence, outcome: .interrupted(after: .zero), startedAt: transfer.startedAt,
                latency: transfer.elapsed, error: "interrupted: the dispatcher shut down mid-transfer"))
        }
    }
}

/// Events finished on Dispatch's threads (name resolutions), waiting for the loop.
final class ResolutionMailbox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [DispatcherStateMachine.Event] = []
    private let wake: @Sendable () -> Void

    init(wake: @escaping @Sendable () -> Void) {
        self.wake = wake
    }

    func post(_ item: DispatcherStateMachine.Event) {
        lock.withLock { items.append(item) }
        wake()
    }

    func take() -> [DispatcherStateMachine.Event] {
        lock.withLock {
            defer { items.removeAll() }
            return items
        }
    }
}
