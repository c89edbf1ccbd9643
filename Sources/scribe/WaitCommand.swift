import ArgumentParser
import Foundation
import JobStore
import Logging
import Operations

/// Waits for jobs to finish with a progress bar: `scribe wait --ids 1,2,3`, `scribe wait --all`.
struct WaitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait for jobs to finish, with a progress bar and ETA on standard error.",
        discussion: """
            Wakes on NOTIFY scribe_job_done and polls every --poll-interval seconds as well. \
            Exit status: 0 when every job succeeded, 1 when any failed or was cancelled \
            (or an id has no job), 2 on --timeout, 3 when the database cannot be used.
            """)

    @Option(help: "Ids of the jobs to wait for, comma-separated (repeatable).")
    var ids: [String] = []

    @Flag(help: "Wait until no job is queued, running or cancelling (jobs enqueued meanwhile included).")
    var all = false

    @Option(help: "Wait for the jobs of this batch (batch_42 or 42).")
    var batch: String?

    @Option(help: "Give up after this many seconds (exit status 2).")
    var timeout: Double?

    @Option(help: "Seconds between checks when no notification arrives.")
    var pollInterval = 2.0

    /// Exit statuses, as documented in the discussion.
    enum Status {
        static let failed = ExitCode(1)
        static let timedOut = ExitCode(2)
        static let unusable = ExitCode(3)
    }

    func validate() throws {
        guard [all, !ids.isEmpty, batch != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give one of --ids, --all or --batch")
        }
        if let batch, BatchRecord.id(named: batch) == nil {
            throw ValidationError("--batch takes a batch id (batch_42 or 42); got \"\(batch)\"")
        }
        _ = try jobIDs()
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
        guard pollInterval > 0 else { throw ValidationError("--poll-interval must be positive") }
    }

    private func jobIDs() throws -> [Int64] {
        try ids.flatMap { $0.split(separator: ",") }.map { text in
            guard let id = Int64(text.trimmingCharacters(in: .whitespaces)), id > 0 else {
                throw ValidationError("--ids takes job ids (positive integers), comma-separated; got \"\(text)\"")
            }
            return id
        }
    }

    /// What to wait for: a new way of naming jobs adds a `WaitTarget` case and a branch here.
    private func resolveTarget(on connection: PostgresConnection, display: ProgressDisplay) throws -> WaitTarget {
        if let batch, let id = BatchRecord.id(named: batch) {
            guard try connection.query("SELECT 1 FROM scribe.batches WHERE id = $1::bigint", [id]).rows.count == 1 else {
                display.note("error: no batch \(BatchRecord.name(of: id))")
                throw Status.failed
            }
            return .batch(id)
        }
        return all ? try WaitTarget.allFrom(now: connection) : .jobs(try jobIDs())
    }

    func run() throws {
        let display = ProgressDisplay()
        let clock = ContinuousClock()
        let start = clock.now
        func elapsed() -> Double { (clock.now - start).seconds }
        let deadline = timeout.map { start + .milliseconds(Int64($0 * 1000)) }
        var meter = ProgressMeter()
        var progress: JobProgress
        do {
            var session = try WaitSession(target: nil)
            let target = try resolveTarget(on: session.connection, display: display)
            session.target = target
            progress = try session.read()
            if !progress.missing.isEmpty {
                display.note("error: no job with id " + progress.missing.map(String.init).joined(separator: ", "))
                throw Status.failed
            }
            meter.record(done: progress.finished, total: progress.total, at: elapsed())
            display.show(meter.line(width: display.width, detail: Self.detail(progress)), at: elapsed())
            while !progress.isComplete {
                if let deadline, clock.now >= deadline {
                    display.finish(meter.line(width: display.width, detail: Self.detail(progress)))
                    display.note("timed out after \(ProgressMeter.clock(elapsed())): \(Self.summary(progress))")
                    throw Status.timedOut
                }
                // Wake for a notification, the poll, the deadline, or (on a terminal) a redraw
                // of the moving ETA.
                let poll = display.isTerminal ? min(pollInterval, 1) : pollInterval
                var wait = Duration.milliseconds(Int64(poll * 1000))
                if let deadline { wait = max(.zero, min(wait, deadline - clock.now)) }
                do {
                    try session.waitForNews(timeout: wait)
                    progress = try session.read()
                } catch let error as PostgresError where error.reason == .connection {
                    display.note("database connection lost (\(error)); reconnecting")
                    session = try WaitSession.reconnect(target: target, until: deadline, display: display)
                    progress = try session.read()
                }
                meter.record(done: progress.finished, total: progress.total, at: elapsed())
                display.show(meter.line(width: display.width, detail: Self.detail(progress)), at: elapsed())
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            display.note("error: \(error)")
            throw Status.unusable
        }
        display.finish(meter.line(width: display.width, detail: Self.detail(progress)))
        display.note(Self.summary(progress))
        if !progress.allSucceeded { throw Status.failed }
    }

    /// Shown after the bar: what did not go well so far.
    static func detail(_ progress: JobProgress) -> String {
        var parts: [String] = []
        if progress.failed > 0 { parts.append("\(progress.failed) failed") }
        if progress.cancelled > 0 { parts.append("\(progress.cancelled) cancelled") }
        if progress.missing.count > 0 { parts.append("\(progress.missing.count) missing") }
        return parts.joined(separator: ", ")
    }

    static func summary(_ progress: JobProgress) -> String {
        var text = "\(progress.total) \(progress.total == 1 ? "job" : "jobs"): \(progress.succeeded) succeeded, \(progress.failed) failed, "
            + "\(progress.cancelled) cancelled"
        if progress.queued + progress.running > 0 {
            text += ", \(progress.running) running, \(progress.queued) queued"
        }
        if !progress.missing.isEmpty { text += ", \(progress.missing.count) missing" }
        return text
    }
}

/// One connection listening on `scribe_job_done` and reading the target's progress.
/// LISTEN comes before the first read, so no completion falls between the two.
private struct WaitSession {
    let connection: PostgresConnection
    let notifications: JobNotifications
    var target: WaitTarget?
    private var lastRead = ContinuousClock.now

    init(target: WaitTarget?) throws {
        connection = try DatabaseConnection.open()
        notifications = try JobNotifications(connection: connection, channels: [.jobDone], logger: Logger(label: "scribe.wait"))
        self.target = target
    }

    /// Retries every second until connected or past `deadline` (then exit status 2).
    static func reconnect(target: WaitTarget, until deadline: ContinuousClock.Instant?, display: ProgressDisplay) throws -> WaitSession {
        while true {
            do {
                return try WaitSession(target: target)
            } catch {
                if let deadline, ContinuousClock.now >= deadline {
                    display.note("timed out while the database was unreachable: \(error)")
                    throw WaitCommand.Status.timedOut
                }
                Thread.sleep(forTimeInterval: 1)
            }
        }
    }

    /// Returns when a job finished or `timeout` passed. Reads are spaced at least 0.2 s
    /// apart, so thousands of completions a second cost a few queries, not thousands.
    func waitForNews(timeout: Duration) throws {
        let sinceRead = ContinuousClock.now - lastRead
        if sinceRead < .milliseconds(200) { Thread.sleep(forTimeInterval: (.milliseconds(200) - sinceRead).seconds) }
        _ = try notifications.wait(timeout: timeout)
    }

    mutating func read() throws -> JobProgress {
        lastRead = ContinuousClock.now
        return try JobProgress.read(target!, on: connection)
    }
}
