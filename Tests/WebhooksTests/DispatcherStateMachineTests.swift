import Foundation
import Inference
import JobStore
import Testing
@testable import Webhooks

/// The dispatcher as a transcript: events in, actions out, no database, no network.
@Suite struct DispatcherStateMachineTests {
    typealias Machine = DispatcherStateMachine
    typealias Action = DispatcherStateMachine.Action

    static func configuration(maxInFlight: Int = 4) -> WebhookDispatcherConfiguration {
        var configuration = WebhookDispatcherConfiguration(workerID: "w")
        configuration.maxInFlight = maxInFlight
        configuration.pollInterval = .seconds(1)
        configuration.rescueInterval = .seconds(60)
        configuration.drainTimeout = .seconds(10)
        configuration.maxReconnectDelay = .seconds(30)
        return configuration
    }

    static func delivery(_ id: Int64, attempt: Int = 1) -> ClaimedDelivery {
        ClaimedDelivery(id: id, webhookID: "msg_\(id)", eventType: "job.succeeded", subjectType: "job", subjectID: id,
                        url: "http://127.0.0.1:9/\(id)", payload: "{}", attempt: attempt, attemptInRound: attempt, age: .zero)
    }

    static func prepared(_ id: Int64) -> Machine.Prepared {
        .init(delivery: delivery(id), url: WebhookURL("http://127.0.0.1:9/\(id)")!, addresses: [IPAddress("127.0.0.1")!])
    }

    static func record(_ id: Int64, _ outcome: DeliveryAttemptRecord.Outcome = .delivered) -> DeliveryAttemptRecord {
        DeliveryAttemptRecord(delivery: DeliveryAttempt(id: id, attempt: 1), outcome: outcome,
                              startedAt: Date(timeIntervalSince1970: 0), statusCode: 200)
    }

    /// A machine, its clock, and the actions of every event, without logs.
    struct Transcript {
        var machine: Machine
        var now: ContinuousClock.Instant
        let start: ContinuousClock.Instant

        init(_ configuration: WebhookDispatcherConfiguration = DispatcherStateMachineTests.configuration()) {
            start = ContinuousClock.now
            now = start
            machine = Machine(configuration: configuration, now: start, random: SplitMix64(seed: 1))
        }

        mutating func send(_ event: Machine.Event) -> [Action] {
            machine.handle(event, now: now).filter { if case .log = $0 { false } else { true } }
        }

        mutating func advance(to offset: Duration) -> [Action] {
            now = start + offset
            return send(.tick)
        }

        /// Started, connected, and the first rescue answered; returns the connection's actions.
        mutating func connect() -> [Action] {
            _ = send(.started)
            let actions = send(.connected)
            _ = send(.rescued)
            return actions
        }

        /// Connected, and `ids` claimed, prepared and sending.
        mutating func sending(_ ids: [Int64]) {
            _ = connect()
            _ = send(.claimed(ids.map { DispatcherStateMachineTests.delivery($0) }))
            for id in ids { _ = send(.prepared(DispatcherStateMachineTests.prepared(id))) }
        }
    }

    @Test func aDeliveryGoesFromClaimThroughPrepareAndSendToOneWriteBack() {
        var t = Transcript()
        #expect(t.send(.started) == [.connect(attempt: 1)])
        #expect(t.send(.connected) == [.claim(limit: 4), .rescue])
        #expect(t.send(.claimed([Self.delivery(1)])) == [.prepare(Self.delivery(1))])
        #expect(t.send(.prepared(Self.prepared(1))) == [.send(Self.prepared(1))])
        #expect(t.send(.ended(Self.record(1))) == [.record([Self.record(1)])])
        // A written attempt frees its slot, which a host held back by its limit may take.
        #expect(t.send(.recorded([Self.record(1)])) == [.claim(limit: 4)])
        // A partial claim: the next one waits for the poll interval or a notification.
        #expect(t.send(.claimed([])) == [])
        #expect(t.advance(to: .milliseconds(500)) == [])
        #expect(t.send(.notified) == [.claim(limit: 4)])
    }

    @Test func aDeliveryHoldsItsSlotUntilItsAttemptIsWrittenBack() {
        var t = Transcript(Self.configuration(maxInFlight: 2))
        _ = t.connect()
        // A full claim asks again at once, with the slots that are left: none.
        #expect(t.send(.claimed([Self.delivery(1), Self.delivery(2)])) == [.prepare(Self.delivery(1)), .prepare(Self.delivery(2))])
        #expect(t.machine.freeSlots == 0)
        _ = t.send(.prepared(Self.prepared(1)))
        #expect(t.send(.ended(Self.record(1))) == [.record([Self.record(1)])])
        #expect(t.machine.freeSlots == 0)  // written back only once the write is answered
        #expect(t.send(.recorded([Self.record(1)])) == [.claim(limit: 1)])
    }

    @Test func aRetryOfOurOwnBringsTheNextClaimForward() {
        var t = Transcript()
        _ = t.connect()
        _ = t.send(.claimed([Self.delivery(1)]))
        _ = t.send(.prepared(Self.prepared(1)))
        let retry = Self.record(1, .retry(after: .milliseconds(200)))
        _ = t.send(.ended(retry))
        #expect(t.send(.recorded([retry])) == [.claim(limit: 4)])
        // The claim finds nothing yet; the poll does not push the retry's claim back.
        #expect(t.send(.claimed([])) == [])
        #expect(t.machine.nextDeadline(now: t.now) == t.now + .milliseconds(200))
        #expect(t.advance(to: .milliseconds(200)) == [.claim(limit: 4)])
    }

    @Test func aRefusedWriteBackIsSplitUntilTheAttemptAtFaultIsLeftToRescue() {
        var t = Transcript()
        t.sending([1, 2, 3])
        let (r1, r2, r3) = (Self.record(1), Self.record(2), Self.record(3))
        #expect(t.send(.ended(r1)) == [.record([r1])])
        // One write at a time: attempts that end meanwhile go out together in the next.
        #expect(t.send(.ended(r2)) == [])
        #expect(t.send(.ended(r3)) == [])
        #expect(t.send(.recorded([r1])) == [.record([r2, r3]), .claim(limit: 2)])
        _ = t.send(.claimed([]))
        let split = t.send(.failed(.record([r2, r3]), error: "value too long", connectionLost: false))
        #expect(split == [.record([r2]), .record([r3])])
        #expect(t.send(.recorded([Self.record(2)])) == [.claim(limit: 3)])
        _ = t.send(.claimed([]))
        let dropped = t.machine.handle(.failed(.record([Self.record(3)]), error: "value too long", connectionLost: false), now: t.now)
        #expect(dropped.contains { if case .log(.error, "Attempt refused by the database: left to rescue", _) = $0 { true } else { false } })
        #expect(!dropped.contains { if case .record = $0 { true } else { false } })
        // Every slot is free again and claims go on.
        #expect(t.machine.freeSlots == 4)
        #expect(t.send(.notified) == [.claim(limit: 4)])
    }

    @Test func aLostConnectionKeepsEndedAttemptsAndWritesThemAfterReconnecting() {
        var t = Transcript()
        t.sending([1, 2])
        _ = t.send(.ended(Self.record(1)))
        // The write fails with the connection: the attempt is kept, transfers go on.
        #expect(t.send(.failed(.record([Self.record(1)]), error: "server closed", connectionLost: true)) == [])
        #expect(t.send(.ended(Self.record(2))) == [])
        // Reconnects with backoff: 100 ms ± 20 %, then doubling to the cap.
        let first = t.machine.nextDeadline(now: t.now) - t.now
        #expect(first >= .milliseconds(80) && first <= .milliseconds(120))
        t.now = t.machine.nextDeadline(now: t.now)
        #expect(t.send(.tick) == [.connect(attempt: 1)])
        _ = t.send(.failed(.connect(attempt: 1), error: "refused", connectionLost: true))
        let second = t.machine.nextDeadline(now: t.now) - t.now
        #expect(second >= .milliseconds(160) && second <= .milliseconds(240))
        t.now = t.machine.nextDeadline(now: t.now)
        #expect(t.send(.tick) == [.connect(attempt: 2)])
        let back = t.send(.connected)
        #expect(back.first == .reconnected)
        #expect(back.contains(.record([Self.record(1), Self.record(2)])))
        #expect(back.contains(.claim(limit: 2)))
    }

    @Test func aFailingRescueDelaysOnlyItself() {
        var t = Transcript()
        _ = t.send(.started)
        #expect(t.send(.connected) == [.claim(limit: 4), .rescue])
        #expect(t.send(.failed(.rescue, error: "deadlock detected", connectionLost: false)) == [])
        _ = t.send(.claimed([Self.delivery(1)]))
        _ = t.send(.prepared(Self.prepared(1)))
        #expect(t.send(.ended(Self.record(1))) == [.record([Self.record(1)])])
        let later = t.advance(to: .seconds(73))
        #expect(later.contains(.rescue))
    }

    @Test func drainStopsClaimingLetsTransfersFinishAndInterruptsWhatWasNotSent() {
        var t = Transcript()
        t.sending([1])
        #expect(t.advance(to: .seconds(1)) == [.claim(limit: 3)])
        _ = t.send(.claimed([Self.delivery(2)]))
        #expect(t.send(.stopRequested) == [])
        // Delivery 2 was still being resolved: it ends unsent, as interrupted.
        #expect(t.send(.prepared(Self.prepared(2))) == [.interrupt(Self.delivery(2))])
        let interrupted = Self.record(2, .interrupted(after: .zero))
        #expect(t.send(.ended(interrupted)) == [.record([interrupted])])
        #expect(t.send(.notified) == [])  // no claims while draining
        #expect(t.send(.ended(Self.record(1))) == [])
        #expect(t.send(.recorded([interrupted])) == [.record([Self.record(1)])])
        #expect(t.send(.recorded([Self.record(1)])) == [.exit])
    }

    @Test func drainAbortsTransfersAtItsDeadlineAndExitsOnceTheyAreWritten() {
        var t = Transcript()
        t.sending([1, 2])
        _ = t.send(.stopRequested)
        #expect(t.advance(to: .seconds(5)).isEmpty)
        #expect(t.advance(to: .seconds(10)) == [.abortTransfers])
        let aborted = [Self.record(1, .interrupted(after: .zero)), Self.record(2, .interrupted(after: .zero))]
        #expect(t.send(.ended(aborted[0])) == [.record([aborted[0]])])
        #expect(t.send(.ended(aborted[1])) == [])
        #expect(t.send(.recorded([aborted[0]])) == [.record([aborted[1]])])
        #expect(t.send(.recorded([aborted[1]])) == [.exit])
    }

    @Test func drainWithTheDatabaseAwayGivesUpAtTheDeadline() {
        var t = Transcript()
        t.sending([1])
        _ = t.send(.connectionLost(error: "gone"))
        _ = t.send(.stopRequested)
        _ = t.send(.ended(Self.record(1)))
        #expect(!t.send(.tick).contains(.exit))
        let end = t.machine.handle(.tick, now: t.start + .seconds(10))
        #expect(end.last == .exit)
        #expect(end.contains { if case .log(.error, "Attempts not written back at shutdown", _) = $0 { true } else { false } })
    }

    @Test func endedAttemptsOfUnknownDeliveriesAreIgnored() {
        var t = Transcript()
        _ = t.connect()
        #expect(t.send(.ended(Self.record(9))) == [])
        #expect(t.machine.unwritten.isEmpty)
    }
}
