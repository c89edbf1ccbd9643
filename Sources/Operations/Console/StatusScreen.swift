import JobStore

/// `scribe status` as text: a pure function of a `QueueStatus`, so it is tested without
/// a database or a terminal.
///
/// ```
/// jobs      queued 120 (5 scheduled later)  running 16  cancelling 0  oldest waiting 1:05
/// finished  last 1m: 42 (40 succeeded, 2 failed, 0 cancelled)  0.7 jobs/s  31.2 tokens/s
/// workers   1 live  40.1 tokens/s
///           HOST     PID   MODEL     STATUS   RUNNING  TOKENS/S  HEARTBEAT
///           box-1    1234  SmolLM2   running  16       40.1      3s ago
/// webhooks  pending 3 (1 retrying, oldest 0:12)  sending 2  dead 0
/// ```
public enum StatusScreen {
    public static func render(_ status: QueueStatus) -> String {
        var lines: [String] = []
        var jobs = "jobs      queued \(status.count(.queued))"
        if status.scheduledLater > 0 { jobs += " (\(status.scheduledLater) scheduled later)" }
        jobs += "  running \(status.count(.running))  cancelling \(status.count(.cancelling))"
        jobs += "  oldest waiting " + (status.oldestQueuedAge.map(ProgressMeter.clock) ?? "-")
        lines.append(jobs)

        for (index, window) in status.windows.enumerated() {
            let label = index == 0 ? "finished  " : "          "
            lines.append(label + "last \(span(window.seconds)): \(window.finished) (\(window.succeeded) succeeded, "
                + "\(window.failed) failed, \(window.cancelled) cancelled)  "
                + "\(ProgressMeter.decimal(window.jobsPerSecond)) jobs/s  "
                + "\(ProgressMeter.decimal(window.tokensPerSecond)) tokens/s")
        }

        let live = status.workers.filter { !$0.isStale }
        let liveRate = live.reduce(0) { $0 + $1.tokensPerSecond }
        var workers = "workers   \(live.count) live"
        if live.count != status.workers.count { workers += ", \(status.workers.count - live.count) stale" }
        if !live.isEmpty { workers += "  \(ProgressMeter.decimal(liveRate)) tokens/s" }
        lines.append(workers)
        if !status.workers.isEmpty {
            let header = ["HOST", "PID", "MODEL", "STATUS", "RUNNING", "TOKENS/S", "HEARTBEAT"]
            let rows = status.workers.map { worker in
                [worker.host, "\(worker.pid)", worker.model ?? "-",
                 worker.isStale ? "stale" : (worker.status?.rawValue ?? "?"), "\(worker.runningSequences)",
                 ProgressMeter.decimal(worker.tokensPerSecond), "\(Int(worker.heartbeatAge.rounded()))s ago"]
            }
            lines += table([header] + rows).map { "          " + $0 }
        }

        let hooks = status.webhooks
        var webhooks = "webhooks  pending \(hooks.pending)"
        var notes: [String] = []
        if hooks.retrying > 0 { notes.append("\(hooks.retrying) retrying") }
        if let age = hooks.oldestPendingAge { notes.append("oldest " + ProgressMeter.clock(age)) }
        if !notes.isEmpty { webhooks += " (" + notes.joined(separator: ", ") + ")" }
        webhooks += "  sending \(hooks.sending)  dead \(hooks.dead)"
        lines.append(webhooks)
        return lines.joined(separator: "\n") + "\n"
    }

    /// `30s`, `1m`, `5m`, `1h`.
    static func span(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        if whole % 3600 == 0 { return "\(whole / 3600)h" }
        if whole % 60 == 0 { return "\(whole / 60)m" }
        return "\(whole)s"
    }

    /// Left-aligned columns two spaces apart, trailing spaces trimmed.
    static func table(_ rows: [[String]]) -> [String] {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            var line = ""
            for (column, cell) in row.enumerated() {
                line += column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
            }
            return line
        }
    }
}
