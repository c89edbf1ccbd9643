import Engine
import Foundation
@testable import JobStore
import Testing
@testable import Worker

/// The worker as a transcript: events in, actions out, no database and no model.
@Suite struct WorkerStateMachineTests {
    typealias Machine = WorkerStateMachine
    typealias Action = WorkerStateMachine.Action

    static func configuration(concurrency: Int = 4) -> WorkerConfiguration {
        var configuration = WorkerConfiguration(engine: EngineConfiguration(maxRunning: concurrency), modelName: "m")
        configuration.prefetch = 0
        configuration.lease = .seconds(30)
        configuration.drainTimeout = .seconds(60)
        configuration.retentionInterval = .seconds(600)
        return configuration
    }

    static func job(_ id: Int64, attempt: Int = 1) -> ClaimedJob {
        ClaimedJob(id: id, attempt: attempt, maxAttempts: 3, input: .prompt("p\(id)"), paramsJSON: "{}",
                   metadataJSON: nil, callbackURL: nil, model: nil, priority: 0,
                   runAt: Date(timeIntervalSince1970: 0), createdAt: Date(timeIntervalSince1970: 0),
                   leaseExpiresAt: Date(timeIntervalSince1970: 30))
    }

    static func result(_ id: Int64, text: String = "done") -> JobResult {
        JobResult(id: id, attempt: 1, outcome: .succeeded, text: text, finishReason: "stop", promptTokens: 3, completionTokens: 2)
    }

    /// A machine, its clock, and the actions of every event, without logs and statuses.
    struct Transcript {
        var machine: Machine
        var now: ContinuousClock.Instant
        let start: ContinuousClock.Instant

        init(_ configuration: WorkerConfiguration = WorkerStateMachineTests.configuration()) {
            start = ContinuousClock.now
            now = start
            machine = Machine(configuration: configuration, now: start, seed: 1)
        }

        /// Starts and connects; returns the actions of the connection.
        mutating func connect() -> [Action] {
            _ = send(.started)
            return send(.connected)
        }

        mutating func send(_ event: Machine.Event) -> [Action] {
            machine.handle(event, now: now).filter(\.isDecision)
        }

        mutating func advance(to offset: Duration) -> [Action] {
            now = start + offset
            return send(.tick)
        }

        /// Connected, and `ids` claimed and running.
        mutating func running(_ ids: [Int64]) {
            _ = connect()
            _ = send(.claimed(ids.map { WorkerStateMachineTests.job($0) }))
        }
    }

    @Test func startsByConnectingAndRetriesTheDatabaseWithBackoffUntilItAnswers() {
        var t = Transcript()
        #expect(t.send(.started) == [.ready, .connect(attempt: 1)])
        var statuses: [String] = []
        var delays: [Duration] = []
        for attempt in 1...6 {
            let actions = t.machine.handle(.failed(.connect(attempt: attempt), error: "refused", connectionLost: true), now: t.now)
            statuses += actions.compactMap { if case .status(let s) = $0 { s } else { nil } }
            let retryAt = t.machine.nextDeadline(now: t.now)
            delays.append(retryAt - t.now)
            t.now = retryAt
            #expect(t.send(.tick) == [.connect(attempt: attempt + 1)])
        }
        // 100 ms doubling (±20%), capped at 5 s; the status says what is going on.
        #expect(delays[0] >= .milliseconds(80) && delays[0] <= .milliseconds(120))
        #expect(delays[5] >= .seconds(2.56) && delays[5] <= .seconds(3.84))
        #expect(statuses.first == "waiting for the database (attempt 1): refused")
        let connected = t.machine.handle(.connected, now: t.now)
        #expect(connected.prefix(2) == [.status("waiting for jobs"), .startDispatcher])
        #expect(connected.contains(.claim(limit: 4)))
    }

    @Test func claimsFillFreeSlotsAndFinishedJobsAreWritten() {
        var t = Transcript()
        let first = t.connect()
        #expect(first.contains(.claim(limit: 4)))
        // Three came back: fewer than asked, so the queue is empty until a notification.
        #expect(t.send(.claimed([Self.job(1), Self.job(2), Self.job(3)])) == [.submit(Self.job(1)), .submit(Self.job(2)), .submit(Self.job(3))])
        #expect(t.send(.tick) == [])
        #expect(t.send(.notified([.queued(model: nil)])) == [.claim(limit: 1)])
        #expect(t.send(.claimed([])) == [])
        // Job 2 finishes: its result is written, and its slot is offered to the queue (with
        // one more, as jobs were seen finishing one at a time: see `finishingBurst`).
        #expect(t.send(.finished([Self.result(2)])) == [.write([Self.result(2)]), .claim(limit: 3)])
        #expect(t.send(.written(WriteReport(written: [2: .succeeded]))) == [])
        #expect(t.machine.inFlight.keys.sorted() == [1, 3])
    }

    @Test func aRefusedWriteIsSplitUntilTheJobAtFaultFailsAlone() {
        var t = Transcript()
        t.running([1, 2, 3, 4])
        let results = (1...4).map { Self.result(Int64($0)) }
        var actions = t.send(.finished(results)).filter(\.isWrite)
        #expect(actions == [.write(results)])
        let refusal = "total size of jsonb array elements exceeds the maximum of 268435455 bytes"
        // The whole batch is refused: two halves.
        actions = t.send(.failed(.write(results), error: refusal, connectionLost: false))
        #expect(actions == [.write(Array(results[0..<2])), .write(Array(results[2..<4]))])
        #expect(t.send(.written(WriteReport(written: [1: .succeeded, 2: .succeeded]))) == [])
        // The second half is refused too: job 3 alone, then job 4 alone.
        actions = t.send(.failed(.write(Array(results[2..<4])), error: refusal, connectionLost: false))
        #expect(actions == [.write([results[2]]), .write([results[3]])])
        #expect(t.send(.written(WriteReport(written: [3: .succeeded]))) == [])
        // Job 4 alone is refused: it fails with the reason, keeping its counts, and no text.
        actions = t.send(.failed(.write([results[3]]), error: refusal, connectionLost: false))
        let failure = JobResult(id: 4, attempt: 1, outcome: .failed(error: "the result could not be stored: \(refusal)"),
                                promptTokens: 3, completionTokens: 2)
        #expect(actions == [.write([failure])])
        // Even that refused: the attempt ends as a retry, and nothing is written again.
        actions = t.send(.failed(.write([failure]), error: "check violated", connectionLost: false))
        #expect(actions == [.retryLater(JobAttempt(id: 4, attempt: 1), error: "the job's end could not be stored: check violated")])
        #expect(t.send(.retried(JobAttempt(id: 4, attempt: 1))) == [])
        #expect(t.machine.unwritten.isEmpty && t.machine.inFlight.isEmpty)
    }

    @Test func leasesAreRenewedOnScheduleWhileWritesKeepFailing() {
        var t = Transcript()
        t.running([1, 2])
        let results = [Self.result(1)]
        _ = t.send(.finished(results))
        // A write fails at 9 s; at 10 s (a third of the lease) the renewal is due all the same.
        t.now = t.start + .seconds(9)
        let split = t.send(.failed(.write(results), error: "value too long", connectionLost: false))
        #expect(split.filter(\.isWrite).count == 1)
        #expect(t.advance(to: .seconds(10)).contains(.renewLeases([JobAttempt(id: 2, attempt: 1)])))
        // A renewal that fails is retried within a second, not a third of a lease later.
        _ = t.send(.failed(.renewLeases([JobAttempt(id: 2, attempt: 1)]), error: "deadlock detected", connectionLost: false))
        #expect(t.advance(to: .seconds(11)).contains(.renewLeases([JobAttempt(id: 2, attempt: 1)])))
    }

    @Test func aLostLeaseStopsTheJobAndItsResultIsNotWritten() {
        var t = Transcript()
        t.running([1, 2])
        let lost = JobAttempt(id: 1, attempt: 1)
        let renewal = LeaseRenewal(renewed: [JobAttempt(id: 2, attempt: 1)], cancelling: [JobAttempt(id: 2, attempt: 1)], lost: [lost])
        #expect(t.send(.renewed(renewal)) == [.cancel(2), .cancel(1)])
        // Job 1's sequence ends: another worker owns it, so nothing is written; job 2's
        // cancelled result is written as usual.
        let cancelled = JobResult(id: 2, attempt: 1, outcome: .cancelled, text: "par", finishReason: "cancelled")
        let cancelledLost = JobResult(id: 1, attempt: 1, outcome: .cancelled, text: "x", finishReason: "cancelled")
        #expect(t.send(.finished([cancelledLost, cancelled])).filter(\.isWrite) == [.write([cancelled])])
        #expect(t.machine.inFlight.isEmpty)
    }

    @Test func cancelNotificationsStopOnlyJobsHeldHere() {
        var t = Transcript()
        t.running([1, 2])
        #expect(t.send(.notified([.cancel(jobID: 2), .cancel(jobID: 99)])) == [.cancel(2)])
    }

    @Test func aLostConnectionKeepsResultsAndWritesThemAfterReconnecting() {
        var t = Transcript()
        t.running([1, 2])
        let results = [Self.result(1)]
        _ = t.send(.finished(results))
        #expect(t.send(.failed(.write(results), error: "server closed the connection", connectionLost: true)) == [])
        #expect(t.machine.unwritten == results)
        // Generation goes on meanwhile: job 2 finishes with the database away.
        #expect(t.send(.finished([Self.result(2)])) == [])
        t.now = t.machine.nextDeadline(now: t.now)
        #expect(t.send(.tick) == [.connect(attempt: 1)])
        let reconnected = t.send(.connected)
        #expect(reconnected.first == .write([Self.result(1), Self.result(2)]))
        #expect(reconnected.contains(.claim(limit: 5)))
    }

    @Test func drainFinishesRunningJobsThenHandsBackTheRestAtTheDeadline() {
        var t = Transcript()
        t.running([1, 2, 3])
        t.now = t.start + .seconds(1)
        let stopping = t.machine.handle(.stopRequested, now: t.now)
        #expect(stopping.first == .stopping(drainTimeout: .seconds(60)))
        // No claims while draining, even with free slots and queued work.
        #expect(t.send(.notified([.queued(model: nil)])).isEmpty)
        #expect(t.send(.finished([Self.result(1)])) == [.write([Self.result(1)])])
        #expect(t.send(.written(WriteReport(written: [1: .succeeded]))) == [])
        // The deadline: the others are stopped, and handed back when their sequences end.
        #expect(t.advance(to: .seconds(61)).prefix(2) == [.cancel(2), .cancel(3)])
        let stopped = [2, 3].map { JobResult(id: $0, attempt: 1, outcome: .cancelled, text: "", finishReason: "cancelled") }
        #expect(t.send(.finished(stopped)) == [.release([JobAttempt(id: 2, attempt: 1), JobAttempt(id: 3, attempt: 1)])])
        #expect(t.send(.released(WriteReport(written: [2: .queued, 3: .queued]))) == [.deregister, .exit(code: 0)])
        #expect(t.machine.phase == .exited)
    }

    @Test func aSecondStopRequestEndsTheDrainAtOnce() {
        var t = Transcript()
        t.running([1])
        _ = t.send(.stopRequested)
        #expect(t.send(.stopRequested) == [.cancel(1)])
    }

    @Test func drainWaitsForTheDatabaseButNotForeverOnASecondStop() {
        var t = Transcript()
        t.running([1])
        _ = t.send(.stopRequested)
        _ = t.send(.connectionLost(error: "gone"))
        #expect(t.send(.finished([Self.result(1)])) == [])
        #expect(t.machine.phase != .exited)  // the result waits for the reconnection
        #expect(t.send(.stopRequested) == [.exit(code: 0)])
    }

    @Test func retentionDeletesABoundedPassAndComesBackSoonWhileThereIsMore() {
        var t = Transcript()
        _ = t.connect()
        #expect(t.advance(to: .seconds(60)).contains(.retention(limit: Machine.retentionBudget)))
        #expect(!t.advance(to: .seconds(61)).contains(.retention(limit: Machine.retentionBudget)))  // one pass at a time
        _ = t.send(.choreDone(.retention, more: true))
        #expect(t.advance(to: .seconds(62)).contains(.retention(limit: Machine.retentionBudget)))
        _ = t.send(.choreDone(.retention, more: false))
        #expect(!t.advance(to: .seconds(600)).contains(.retention(limit: Machine.retentionBudget)))
        #expect(t.advance(to: .seconds(662)).contains(.retention(limit: Machine.retentionBudget)))
    }

    @Test func aFailingChoreDelaysOnlyItself() {
        var t = Transcript()
        t.running([1])
        // The rescue sent at the connection fails; renewal, results and claims go on.
        _ = t.send(.failed(.rescue, error: "canceling statement due to statement timeout", connectionLost: false))
        let due = t.advance(to: .seconds(10))
        #expect(due.contains(.renewLeases([JobAttempt(id: 1, attempt: 1)])))
        #expect(due.contains(.claim(limit: 3)))  // the poll for work, a second after the last claim
        _ = t.send(.claimed([]))
        _ = t.send(.renewed(LeaseRenewal(renewed: [JobAttempt(id: 1, attempt: 1)])))
        #expect(t.send(.finished([Self.result(1)])) == [.write([Self.result(1)]), .claim(limit: 5)])
        // And the rescue comes back on its own schedule (half a lease, ±20%).
        #expect(t.advance(to: .seconds(18)).contains(.rescue))
    }

    @Test func aDispatcherThatKeepsStoppingIsRestartedThenEndsTheWorker() {
        var t = Transcript()
        _ = t.connect()
        _ = t.send(.claimed([]))
        var restarts: [Duration] = []
        for _ in 1...4 {
            #expect(t.send(.dispatcherStopped(error: "curl_multi_poll failed")) == [])
            let died = t.now
            var restarted = false
            while !restarted {
                t.now = t.machine.nextDeadline(now: t.now)
                let actions = t.send(.tick)
                restarted = actions.contains(.startDispatcher)
                if actions.contains(where: \.isClaim) { _ = t.send(.claimed([])) }
            }
            restarts.append(t.now - died)
        }
        #expect(restarts == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        // The fifth within five minutes: the worker drains and exits non-zero, so systemd
        // restarts the whole process.
        let actions = t.machine.handle(.dispatcherStopped(error: "curl_multi_poll failed"), now: t.now)
        #expect(actions.contains(.stopping(drainTimeout: .seconds(60))))
        #expect(actions.suffix(2) == [.deregister, .exit(code: 1)])
    }

    @Test func anInvalidJobFailsWithoutRetryThroughTheSameWrite() {
        var t = Transcript()
        _ = t.connect()
        _ = t.send(.claimed([Self.job(7)]))
        let actions = t.send(.refused(JobAttempt(id: 7, attempt: 1), error: "params.n: must be at most 16, got 1000000"))
        #expect(actions.first == .write([JobResult(id: 7, attempt: 1, outcome: .failed(error: "params.n: must be at most 16, got 1000000"))]))
    }

    @Test func anInternalEngineErrorIsWrittenAsARetryAndLoggedWithItsContext() {
        var t = Transcript()
        t.running([3])
        let retry = JobResult(id: 3, attempt: 1, outcome: .retry(error: "internal error: forward refused"))
        let actions = t.machine.handle(.finished([retry]), now: t.now)
        #expect(actions.filter(\.isDecision).first == .write([retry]))
        #expect(actions.contains(.log(.error, "Job attempt failed with an internal error: retrying", [
            "job.id": "3", "job.attempt": "1", "job.max_attempts": "3", "error.message": "internal error: forward refused"])))
    }

    /// A retry the database refuses stays a retry (through retryLater), never a final failure.
    @Test func aRefusedRetryEndsItsAttemptAsARetry() {
        var t = Transcript()
        t.running([4])
        let retry = JobResult(id: 4, attempt: 1, outcome: .retry(error: "internal error: forward refused"))
        #expect(t.send(.finished([retry])).first == .write([retry]))
        #expect(t.send(.failed(.write([retry]), error: "value too long", connectionLost: false))
            == [.retryLater(JobAttempt(id: 4, attempt: 1), error: "the job's end could not be stored: value too long")])
    }

    @Test func theEngineErrorsKindDecidesBetweenFailingAndRetrying() {
        let outcome = JobTranslation.outcome(of:)
        #expect(outcome(GenerationError("params.n must be at most 16")) == .failed(error: "params.n must be at most 16"))
        #expect(outcome(GenerationError("internal error: x", kind: .internal)) == .retry(error: "internal error: x"))
        #expect(outcome(GenerationError("y", kind: .transient)) == .retry(error: "y"))
    }
}

extension WorkerStateMachine.Action {
    /// What the worker does, as opposed to what it says (logs, sd_notify status).
    var isDecision: Bool {
        switch self {
        case .log, .status: false
        default: true
        }
    }

    var isClaim: Bool {
        if case .claim = self { return true }
        return false
    }

    var isWrite: Bool {
        if case .write = self { return true }
        return false
    }
}
