import JobStore
import Operations
import Testing

@Suite struct ScribeMetricsTests {
    /// The metric set the issue asks for, with Prometheus conventions: counters end in
    /// `_total`, durations are `_seconds` histograms, info gauges end in `_info`.
    @Test func exposesScribesMetricSetWithTheRightTypes() throws {
        let metrics = ScribeMetrics(version: "9.9.9")
        metrics.setBLAS(core: "Haswell", threads: 2)
        let parsed = try PrometheusExposition(metrics.exposition())
        #expect(parsed.families.mapValues(\.type) == Self.expectedTypes)
        for family in parsed.families.values {
            #expect(!family.help.isEmpty, "\(family.name) has no help")
            #expect((family.type == "counter") == family.name.hasSuffix("_total"), "\(family.name)")
        }
        #expect(parsed.value("scribe_build_info", ["version": "9.9.9"]) == 1)
        #expect(parsed.value("scribe_blas_info", ["core": "Haswell", "threads": "2"]) == 1)
        // Every outcome is there from the start, at zero.
        for outcome in ScribeMetrics.JobOutcome.allCases {
            #expect(parsed.value("scribe_jobs_finished_total", ["outcome": outcome.rawValue]) == 0)
        }
        for outcome in ScribeMetrics.WebhookOutcome.allCases {
            #expect(parsed.value("scribe_webhook_deliveries_total", ["outcome": outcome.rawValue]) == 0)
        }
        #expect(parsed.value("scribe_job_latency_seconds_bucket", ["le": "+Inf"]) == 0)
    }

    /// Every family a worker exposes, with its type.
    static let expectedTypes: [String: String] = [
        "scribe_jobs_claimed_total": "counter",
        "scribe_jobs_finished_total": "counter",
        "scribe_tokens_generated_total": "counter",
        "scribe_prompt_tokens_total": "counter",
        "scribe_running_sequences": "gauge",
        "scribe_batch_rows": "gauge",
        "scribe_kv_blocks_in_use": "gauge",
        "scribe_time_to_first_token_seconds": "histogram",
        "scribe_job_latency_seconds": "histogram",
        "scribe_webhook_deliveries_total": "counter",
        "scribe_database_errors_total": "counter",
        "scribe_database_reconnects_total": "counter",
        "scribe_blas_info": "gauge",
        "scribe_build_info": "gauge",
    ]

    @Test func updatesShowInTheExposition() throws {
        let metrics = ScribeMetrics(version: "1")
        metrics.jobsClaimed.add(3)
        metrics.jobsFinished(.succeeded).increment()
        metrics.jobsFinished(.failed).add(2)
        metrics.tokensGenerated.add(17)
        metrics.promptTokens.add(40)
        metrics.runningSequences.set(2)
        metrics.batchRows.set(37)
        metrics.kvBlocksInUse.set(12)
        metrics.timeToFirstToken.observe(0.3)
        metrics.jobLatency.observe(.seconds(4))
        metrics.webhookDeliveries(.delivered).increment()
        metrics.databaseErrors.increment()
        metrics.databaseReconnects.increment()

        let parsed = try PrometheusExposition(metrics.exposition())
        #expect(parsed.value("scribe_jobs_claimed_total") == 3)
        #expect(parsed.value("scribe_jobs_finished_total", ["outcome": "succeeded"]) == 1)
        #expect(parsed.value("scribe_jobs_finished_total", ["outcome": "failed"]) == 2)
        #expect(parsed.value("scribe_tokens_generated_total") == 17)
        #expect(parsed.value("scribe_prompt_tokens_total") == 40)
        #expect(parsed.value("scribe_running_sequences") == 2)
        #expect(parsed.value("scribe_batch_rows") == 37)
        #expect(parsed.value("scribe_kv_blocks_in_use") == 12)
        #expect(parsed.value("scribe_time_to_first_token_seconds_bucket", ["le": "0.25"]) == 0)
        #expect(parsed.value("scribe_time_to_first_token_seconds_bucket", ["le": "0.5"]) == 1)
        #expect(parsed.value("scribe_job_latency_seconds_sum") == 4)
        #expect(parsed.value("scribe_webhook_deliveries_total", ["outcome": "delivered"]) == 1)
        #expect(parsed.value("scribe_database_errors_total") == 1)
        #expect(parsed.value("scribe_database_reconnects_total") == 1)
    }
}

@Suite struct WebhookOutcomeLabelTests {
    /// Each attempt outcome the dispatcher records lands on one label of
    /// `scribe_webhook_deliveries_total`.
    @Test func everyAttemptOutcomeHasItsLabel() {
        #expect(ScribeMetrics.WebhookOutcome(.delivered) == .delivered)
        #expect(ScribeMetrics.WebhookOutcome(.retry(after: .seconds(5))) == .retried)
        #expect(ScribeMetrics.WebhookOutcome(.interrupted(after: .zero)) == .retried)
        #expect(ScribeMetrics.WebhookOutcome(.dead) == .failed)
        #expect(ScribeMetrics.WebhookOutcome(.refused) == .failed)
    }
}
