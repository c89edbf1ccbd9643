import JobStore
import Testing
import TestSupport

/// The SQL must agree with `JobLifecycle`: random transcripts of events are replayed on
/// the state machine and on the database, and after every step both must agree on
/// status, attempts, holder, and on whether the event was refused.
@Suite struct JobLifecycleConformanceTests {
    enum Step: CustomStringConvertible {
        case claim(String)
        case cancel
        case finish(JobLifecycle.Outcome, String, Int)
        case failRetryably(String, Int)
        case expireLease
        case release(String, Int)
        case renew(String, Int)

        var description: String {
            switch self {
            case .claim(let w): "claim(\(w))"
            case .cancel: "cancel"
            case .finish(let o, let w, let a): "finish(\(o), \(w), \(a))"
            case .failRetryably(let w, let a): "failRetryably(\(w), \(a))"
            case .expireLease: "expireLease"
            case .release(let w, let a): "release(\(w), \(a))"
            case .renew(let w, let a): "renew(\(w), \(a))"
            }
        }
    }

    @Test func randomTranscriptsAgreeWithTheDatabase() throws {
        var random = SplitMix64(seed: 20_241_127)
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let queues = ["w1": JobQueue(connection: connection, workerID: "w1", logger: .silent),
                          "w2": JobQueue(connection: connection, workerID: "w2", logger: .silent)]
            for transcript in 0..<24 {
                let maxAttempts = Int(random.next() % 3) + 1
                let id = try connection.insertJob(maxAttempts: maxAttempts)
                var machine = JobLifecycle(maxAttempts: maxAttempts)
                var history: [String] = []
                for _ in 0..<10 {
                    let step = Self.randomStep(&random, machine)
                    history.append(step.description)
                    let expected = Self.apply(step, to: &machine)
                    let refused = try Self.apply(step, id: id, connection: connection, queues: queues)
                    let row = try connection.query(
                        "SELECT status, attempts, worker_id FROM scribe.jobs WHERE id = $1", [id]).rows[0]
                    let context = Comment(rawValue: "transcript \(transcript): \(history.joined(separator: ", "))")
                    #expect(refused == (expected == .refuse), context)
                    #expect(row[0] == machine.status.rawValue, context)
                    #expect(row[1] == String(machine.attempts), context)
                    #expect(row[2] == machine.workerID, context)
                }
                // Claims and rescues must find only the next transcript's job.
                try connection.query("DELETE FROM scribe.jobs WHERE id = $1", [id])
            }
        }
    }

    private static func randomStep(_ random: inout SplitMix64, _ machine: JobLifecycle) -> Step {
        let worker = random.next() % 3 == 0 ? "w2" : "w1"
        // Mostly the current attempt, sometimes a stale one.
        let attempt = random.next() % 4 == 0 ? machine.attempts - 1 : machine.attempts
        switch random.next() % 9 {
        case 0, 1: return .claim(worker)
        case 2: return .cancel
        case 3: return .finish(.succeeded, worker, attempt)
        case 4: return .finish(random.next() % 2 == 0 ? .failed : .cancelled, worker, attempt)
        case 5: return .failRetryably(worker, attempt)
        case 6: return .expireLease
        case 7: return .release(worker, attempt)
        default: return .renew(worker, attempt)
        }
    }

    private static func apply(_ step: Step, to machine: inout JobLifecycle) -> JobLifecycle.Action {
        switch step {
        case .claim(let worker): machine.claim(by: worker)
        case .cancel: machine.requestCancel()
        case .finish(let outcome, let worker, let attempt): machine.finish(outcome, by: worker, attempt: attempt)
        case .failRetryably(let worker, let attempt): machine.failRetryably(by: worker, attempt: attempt)
        case .expireLease: machine.leaseExpired()
        case .release(let worker, let attempt): machine.release(by: worker, attempt: attempt)
        case .renew(let worker, let attempt): machine.renew(by: worker, attempt: attempt)
        }
    }

    /// Carries the step out in SQL; returns whether the database refused it.
    private static func apply(
        _ step: Step, id: Int64, connection: PostgresConnection, queues: [String: JobQueue]
    ) throws -> Bool {
        switch step {
        case .claim(let worker):
            // Backoff is not what this test is about: make a retried job runnable now.
            try connection.query("UPDATE scribe.jobs SET run_at = now() WHERE id = $1 AND status = 'queued'", [id])
            return try queues[worker]!.claim(limit: 1, model: nil, lease: .seconds(60)).isEmpty
        case .cancel:
            // A cancel is never refused; at worst it changes nothing (status compared below).
            let status = try connection.query("SELECT scribe.cancel($1)", [id]).scalar
            return status == nil
        case .finish(let outcome, let worker, let attempt):
            let result: JobResult.Outcome = switch outcome {
            case .succeeded: .succeeded
            case .failed: .failed(error: "boom")
            case .cancelled: .cancelled
            }
            return try !queues[worker]!.complete([JobResult(id: id, attempt: attempt, outcome: result)]).refused.isEmpty
        case .failRetryably(let worker, let attempt):
            return try queues[worker]!.retryLater(JobAttempt(id: id, attempt: attempt), error: "transient") == nil
        case .expireLease:
            try connection.query(
                """
                UPDATE scribe.jobs SET lease_expires_at = now() - interval '1 second'
                WHERE id = $1 AND status IN ('running', 'cancelling')
                """, [id])
            return try queues["w1"]!.rescueExpiredLeases().isEmpty
        case .release(let worker, let attempt):
            return try !queues[worker]!.releaseUnfinished([JobAttempt(id: id, attempt: attempt)]).refused.isEmpty
        case .renew(let worker, let attempt):
            return try !queues[worker]!.renewLeases([JobAttempt(id: id, attempt: attempt)], lease: .seconds(60)).lost.isEmpty
        }
    }
}

/// A tiny deterministic generator, so a failing transcript can be replayed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E9B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
