import JobStore
import Testing

/// Transcripts of `JobLifecycle`, no database: one event, one expected action.
@Suite struct JobLifecycleTests {
    @Test func aJobRunsAndSucceeds() {
        var job = JobLifecycle(maxAttempts: 3)
        #expect(job.status == .queued)
        #expect(job.claim(by: "w1") == .run(attempt: 1))
        #expect(job.renew(by: "w1", attempt: 1) == .renewLease)
        #expect(job.finish(.succeeded, by: "w1", attempt: 1) == .notifyDone(.succeeded))
        #expect(job.status == .succeeded && job.attempts == 1 && job.workerID == "w1")
        #expect(job.claim(by: "w2") == .refuse)
        #expect(job.requestCancel() == .none)
    }

    @Test func aStaleOrForeignWriteIsRefused() {
        var job = JobLifecycle(maxAttempts: 3)
        #expect(job.claim(by: "w1") == .run(attempt: 1))
        #expect(job.leaseExpired() == .retry(after: 1))
        #expect(job.claim(by: "w2") == .run(attempt: 2))
        // w1 wakes up late with attempt 1: refused; w3 never held it: refused.
        #expect(job.finish(.succeeded, by: "w1", attempt: 1) == .refuse)
        #expect(job.renew(by: "w1", attempt: 1) == .refuse)
        #expect(job.finish(.succeeded, by: "w3", attempt: 2) == .refuse)
        #expect(job.finish(.succeeded, by: "w2", attempt: 2) == .notifyDone(.succeeded))
        // Exactly one result: a second write by the holder is refused too.
        #expect(job.finish(.failed, by: "w2", attempt: 2) == .refuse)
        #expect(job.status == .succeeded)
    }

    @Test func cancellingAQueuedJobEndsItAtOnce() {
        var job = JobLifecycle()
        #expect(job.requestCancel() == .notifyDone(.cancelled))
        #expect(job.status == .cancelled)
        #expect(job.claim(by: "w1") == .refuse)
    }

    @Test func cancellingARunningJobGoesThroughCancelling() {
        var job = JobLifecycle()
        #expect(job.claim(by: "w1") == .run(attempt: 1))
        #expect(job.requestCancel() == .notifyCancel)
        #expect(job.status == .cancelling)
        #expect(job.requestCancel() == .none)
        #expect(job.renew(by: "w1", attempt: 1) == .renewLease)
        #expect(job.finish(.cancelled, by: "w1", attempt: 1) == .notifyDone(.cancelled))
    }

    @Test func whileCancellingAFailureEndsCancelledButASuccessStands() {
        var failing = JobLifecycle()
        _ = failing.claim(by: "w1")
        _ = failing.requestCancel()
        #expect(failing.finish(.failed, by: "w1", attempt: 1) == .notifyDone(.cancelled))

        var retrying = JobLifecycle()
        _ = retrying.claim(by: "w1")
        _ = retrying.requestCancel()
        #expect(retrying.failRetryably(by: "w1", attempt: 1) == .notifyDone(.cancelled))

        var finishing = JobLifecycle()
        _ = finishing.claim(by: "w1")
        _ = finishing.requestCancel()
        #expect(finishing.finish(.succeeded, by: "w1", attempt: 1) == .notifyDone(.succeeded))
    }

    @Test func aPoisonJobFailsAfterMaxAttempts() {
        var job = JobLifecycle(maxAttempts: 3)
        for attempt in 1...2 {
            #expect(job.claim(by: "w\(attempt)") == .run(attempt: attempt))
            #expect(job.leaseExpired() == .retry(after: attempt))
            #expect(job.status == .queued && job.workerID == nil)
        }
        #expect(job.claim(by: "w3") == .run(attempt: 3))
        #expect(job.leaseExpired() == .notifyDone(.failed))
        #expect(job.status == .failed && job.attempts == 3)
        #expect(job.leaseExpired() == .refuse)
    }

    @Test func retryableFailuresBackOffThenFail() {
        var job = JobLifecycle(maxAttempts: 2)
        #expect(job.claim(by: "w1") == .run(attempt: 1))
        #expect(job.failRetryably(by: "w1", attempt: 1) == .retry(after: 1))
        #expect(job.claim(by: "w1") == .run(attempt: 2))
        #expect(job.failRetryably(by: "w1", attempt: 2) == .notifyDone(.failed))
    }

    @Test func aCancellingJobWhoseLeaseExpiresIsCancelled() {
        var job = JobLifecycle()
        _ = job.claim(by: "w1")
        _ = job.requestCancel()
        #expect(job.leaseExpired() == .notifyDone(.cancelled))
    }

    @Test func drainReleaseGivesTheAttemptBack() {
        var job = JobLifecycle(maxAttempts: 1)
        #expect(job.claim(by: "w1") == .run(attempt: 1))
        #expect(job.release(by: "w2", attempt: 1) == .refuse)
        #expect(job.release(by: "w1", attempt: 1) == .requeueNow)
        #expect(job.status == .queued && job.attempts == 0 && job.workerID == nil)
        // Even with max_attempts 1 the job still gets its one real attempt.
        #expect(job.claim(by: "w2") == .run(attempt: 1))

        var cancelling = JobLifecycle()
        _ = cancelling.claim(by: "w1")
        _ = cancelling.requestCancel()
        #expect(cancelling.release(by: "w1", attempt: 1) == .notifyDone(.cancelled))
    }

    @Test func statusesKnowWhetherTheyAreFinal() {
        #expect(JobStatus.allCases.filter(\.isFinal) == [.succeeded, .failed, .cancelled])
        #expect(JobStatus.allCases.filter(\.isActive) == [.running, .cancelling])
    }
}
