import JobStore

/// Every metric a Scribe worker exposes, defined in one place so names, help texts,
/// labels and buckets are decided once. Keep the handles: updating them is lock-free
/// (counters, gauges) or one short lock (histograms).
public final class ScribeMetrics: Sendable {
    public let registry: MetricsRegistry

    /// Jobs this worker claimed (each attempt counts).
    public let jobsClaimed: Counter
    /// Attempts that ended, by `outcome`; see `JobOutcome`.
    public let jobsFinished: MetricFamily<Counter>
    public let tokensGenerated: Counter
    public let promptTokens: Counter
    public let runningSequences: Gauge
    /// Rows (tokens) in the latest batched forward step.
    public let batchRows: Gauge
    public let kvBlocksInUse: Gauge
    public let timeToFirstToken: Histogram
    public let jobLatency: Histogram
    /// Webhook delivery attempts, by `outcome`; see `WebhookOutcome`.
    public let webhookDeliveries: MetricFamily<Counter>
    public let databaseErrors: Counter
    public let databaseReconnects: Counter
    public let blasInfo: InfoMetric
    public let buildInfo: InfoMetric

    /// Label values of `scribe_jobs_finished_total{outcome}`.
    public enum JobOutcome: String, CaseIterable, Sendable {
        case succeeded, failed, cancelled
        /// The attempt was lost (its worker stopped renewing the lease) and the job went
        /// back to the queue for another; counted by the worker that rescued it.
        case retried
        /// Handed back unfinished while draining (the attempt is not counted).
        case released
        /// The lease was lost to another worker (which counted the attempt as rescued);
        /// the result was not written.
        case lost
    }

    /// Label values of `scribe_webhook_deliveries_total{outcome}`.
    public enum WebhookOutcome: String, CaseIterable, Sendable {
        case delivered
        /// This attempt failed; another will follow.
        case retried
        /// The last attempt failed; no more will be made.
        case failed

        /// The label of an attempt's outcome: an interrupted attempt (shutdown) is tried
        /// again, a refused one (destination guard) is never sent.
        public init(_ outcome: DeliveryAttemptRecord.Outcome) {
            switch outcome {
            case .delivered: self = .delivered
            case .retry, .interrupted: self = .retried
            case .dead, .refused: self = .failed
            }
        }
    }

    /// Seconds, from a quick first token on a small model to a long queue of prefill.
    public static let timeToFirstTokenBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
    public static let jobLatencyBuckets: [Double] = [0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800]

    public init(registry: MetricsRegistry = MetricsRegistry(), version: String) {
        self.registry = registry
        jobsClaimed = registry.counter(
            "scribe_jobs_claimed_total", help: "Jobs claimed from the queue by this worker (one per attempt).")
        jobsFinished = registry.counterFamily(
            "scribe_jobs_finished_total", help: "Job attempts that ended, by outcome.", labelNames: ["outcome"])
        tokensGenerated = registry.counter("scribe_tokens_generated_total", help: "Tokens generated (sampled).")
        promptTokens = registry.counter("scribe_prompt_tokens_total", help: "Prompt tokens processed (prefill).")
        runningSequences = registry.gauge(
            "scribe_running_sequences", help: "Sequences in the continuous batch right now.")
        batchRows = registry.gauge("scribe_batch_rows", help: "Token rows in the latest batched forward step.")
        kvBlocksInUse = registry.gauge("scribe_kv_blocks_in_use", help: "KV-cache blocks held by running sequences.")
        timeToFirstToken = registry.histogram(
            "scribe_time_to_first_token_seconds", help: "Seconds from claiming a job to its first generated token.",
            buckets: Self.timeToFirstTokenBuckets)
        jobLatency = registry.histogram(
            "scribe_job_latency_seconds", help: "Seconds from enqueueing a job to its result (queue wait included).",
            buckets: Self.jobLatencyBuckets)
        webhookDeliveries = registry.counterFamily(
            "scribe_webhook_deliveries_total", help: "Webhook delivery attempts, by outcome.", labelNames: ["outcome"])
        databaseErrors = registry.counter(
            "scribe_database_errors_total", help: "Database statements or connections that failed.")
        databaseReconnects = registry.counter(
            "scribe_database_reconnects_total", help: "Database connections re-established after a loss.")
        blasInfo = registry.info(
            "scribe_blas_info", help: "The OpenBLAS kernel set (core) and thread count in use.",
            labelNames: ["core", "threads"])
        buildInfo = registry.info("scribe_build_info", help: "The running scribe's version.", labelNames: ["version"])

        // Every outcome is exposed from the start (at 0), so rate() and alerts see the
        // series before the first event of each kind.
        for outcome in JobOutcome.allCases { _ = jobsFinished.labels(outcome.rawValue) }
        for outcome in WebhookOutcome.allCases { _ = webhookDeliveries.labels(outcome.rawValue) }
        buildInfo.set(version)
    }

    /// The counter for one job outcome (a lookup under a lock: keep it if hot).
    public func jobsFinished(_ outcome: JobOutcome) -> Counter {
        jobsFinished.labels(outcome.rawValue)
    }

    public func webhookDeliveries(_ outcome: WebhookOutcome) -> Counter {
        webhookDeliveries.labels(outcome.rawValue)
    }

    public func setBLAS(core: String, threads: Int) {
        blasInfo.set(core, String(threads))
    }

    /// The Prometheus text of every metric.
    public func exposition() -> String { registry.exposition() }
}
