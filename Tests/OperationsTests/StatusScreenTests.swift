import JobStore
import Operations
import Testing

@Suite struct StatusScreenTests {
    static func worker(_ host: String, pid: Int32, running: Int, rate: Double, age: Double, stale: Bool = false) -> WorkerRecord {
        WorkerRecord(
            id: "\(host)-\(pid)", host: host, pid: pid, version: "0.1.0", model: "SmolLM2-135M-Instruct",
            startedAt: "2026-11-27 15:00:00+00", heartbeatAt: "2026-11-27 15:10:00+00", heartbeatInterval: .seconds(10),
            runningSequences: running, tokensPerSecond: rate, status: .running, heartbeatAge: age, isStale: stale)
    }

    @Test func rendersEverySection() {
        let status = QueueStatus(
            unfinished: [.queued: 120, .running: 16, .cancelling: 1], scheduledLater: 5, oldestQueuedAge: 65,
            windows: [
                ThroughputWindow(seconds: 60, succeeded: 40, failed: 2, cancelled: 0, completionTokens: 1872, promptTokens: 900),
                ThroughputWindow(seconds: 300, succeeded: 118, failed: 2, cancelled: 1, completionTokens: 6000, promptTokens: 3000),
            ],
            workers: [Self.worker("box-1", pid: 1234, running: 16, rate: 40.14, age: 2.6),
                      Self.worker("box-2", pid: 99, running: 0, rate: 0, age: 95, stale: true)],
            webhooks: WebhookBacklog(pending: 3, retrying: 1, sending: 2, dead: 4, oldestPendingAge: 12))
        #expect(StatusScreen.render(status) == """
            jobs      queued 120 (5 scheduled later)  running 16  cancelling 1  oldest waiting 1:05
            finished  last 1m: 42 (40 succeeded, 2 failed, 0 cancelled)  0.70 jobs/s  31.2 tokens/s
                      last 5m: 121 (118 succeeded, 2 failed, 1 cancelled)  0.40 jobs/s  20.0 tokens/s
            workers   1 live, 1 stale  40.1 tokens/s
                      HOST   PID   MODEL                  STATUS   RUNNING  TOKENS/S  HEARTBEAT
                      box-1  1234  SmolLM2-135M-Instruct  running  16       40.1      3s ago
                      box-2  99    SmolLM2-135M-Instruct  stale    0        0.00      95s ago
            webhooks  pending 3 (1 retrying, oldest 0:12)  sending 2  dead 4

            """)
    }

    @Test func anIdleQueueSaysSo() {
        let status = QueueStatus(
            unfinished: [:], scheduledLater: 0, oldestQueuedAge: nil,
            windows: [ThroughputWindow(seconds: 60, succeeded: 0, failed: 0, cancelled: 0, completionTokens: 0, promptTokens: 0)],
            workers: [], webhooks: WebhookBacklog(pending: 0, retrying: 0, sending: 0, dead: 0, oldestPendingAge: nil))
        #expect(StatusScreen.render(status) == """
            jobs      queued 0  running 0  cancelling 0  oldest waiting -
            finished  last 1m: 0 (0 succeeded, 0 failed, 0 cancelled)  0.00 jobs/s  0.00 tokens/s
            workers   0 live
            webhooks  pending 0  sending 0  dead 0

            """)
    }
}
