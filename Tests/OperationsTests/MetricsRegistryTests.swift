import Foundation
import Operations
import Synchronization
import Testing

@Suite struct MetricsRegistryTests {
    @Test func countersGaugesAndLabelsRender() throws {
        let registry = MetricsRegistry()
        let requests = registry.counterFamily("http_requests_total", help: "Requests.", labelNames: ["code", "path"])
        requests.labels("200", "/a").increment()
        requests.labels("200", "/a").add(2)
        requests.labels("500", "/b").add(-4)  // ignored: counters never go down
        let temperature = registry.gauge("room_temperature", help: "Degrees.")
        temperature.set(21.5)
        temperature.add(-0.25)

        #expect(registry.exposition() == """
            # HELP http_requests_total Requests.
            # TYPE http_requests_total counter
            http_requests_total{code="200",path="/a"} 3
            http_requests_total{code="500",path="/b"} 0
            # HELP room_temperature Degrees.
            # TYPE room_temperature gauge
            room_temperature 21.25

            """)
    }

    @Test func helpAndLabelValuesAreEscaped() throws {
        let registry = MetricsRegistry()
        let family = registry.gaugeFamily("odd", help: "Back\\slash and\nnewline \"quotes\" stay.", labelNames: ["v"])
        family.labels("a\"b\\c\nd=e,f}").set(1)
        let text = registry.exposition()
        #expect(text.contains(#"# HELP odd Back\\slash and\nnewline "quotes" stay."#))
        #expect(text.contains(#"odd{v="a\"b\\c\nd=e,f}"} 1"#))
        let parsed = try PrometheusExposition(text)
        #expect(parsed.families["odd"]?.help == "Back\\slash and\nnewline \"quotes\" stay.")
        #expect(parsed.value("odd", ["v": "a\"b\\c\nd=e,f}"]) == 1)
    }

    @Test func histogramBucketsAreCumulativeWithInfEqualToCount() throws {
        let registry = MetricsRegistry()
        let latency = registry.histogram("latency_seconds", help: "Latency.", buckets: [0.125, 1, 10])
        // Binary fractions, so the sum is exact.
        for value in [0.0625, 0.125, 0.5, 2, 20, 30, .nan] { latency.observe(value) }
        latency.observe(.milliseconds(250))

        let text = registry.exposition()
        #expect(text == """
            # HELP latency_seconds Latency.
            # TYPE latency_seconds histogram
            latency_seconds_bucket{le="0.125"} 2
            latency_seconds_bucket{le="1"} 4
            latency_seconds_bucket{le="10"} 5
            latency_seconds_bucket{le="+Inf"} 7
            latency_seconds_sum 52.9375
            latency_seconds_count 7

            """)
        let parsed = try PrometheusExposition(text)
        #expect(parsed.families["latency_seconds"]?.type == "histogram")
        #expect(latency.snapshot.count == 7)
    }

    @Test func labelledHistogramsKeepLabelsBeforeLe() throws {
        let registry = MetricsRegistry()
        let family = registry.histogramFamily("step_seconds", help: "Steps.", labelNames: ["phase"], buckets: [1, 2])
        family.labels("prefill").observe(1.5)
        family.labels("decode").observe(0.5)
        let text = registry.exposition()
        #expect(text.contains(#"step_seconds_bucket{phase="prefill",le="2"} 1"#))
        #expect(text.contains(#"step_seconds_sum{phase="decode"} 0.5"#))
        let parsed = try PrometheusExposition(text)
        #expect(parsed.value("step_seconds_count", ["phase": "prefill"]) == 1)
        #expect(parsed.value("step_seconds_bucket", ["phase": "decode", "le": "1"]) == 1)
    }

    @Test func numbersAreFormattedForScrapers() {
        #expect(PrometheusText.number(3) == "3")
        #expect(PrometheusText.number(-2) == "-2")
        #expect(PrometheusText.number(0.005) == "0.005")
        #expect(PrometheusText.number(1e-7) == "1e-07")
        #expect(PrometheusText.number(.infinity) == "+Inf")
        #expect(PrometheusText.number(-.infinity) == "-Inf")
        #expect(PrometheusText.number(.nan) == "NaN")
        #expect(PrometheusText.number(1e20) == "1e+20")
    }

    @Test func namesAreValidated() {
        #expect(PrometheusText.isValidMetricName("scribe_jobs_total"))
        #expect(PrometheusText.isValidMetricName("ns:rule_rate5m"))
        #expect(!PrometheusText.isValidMetricName("9lives"))
        #expect(!PrometheusText.isValidMetricName("has-dash"))
        #expect(!PrometheusText.isValidMetricName(""))
        #expect(PrometheusText.isValidLabelName("outcome"))
        #expect(!PrometheusText.isValidLabelName("__name__"))
        #expect(!PrometheusText.isValidLabelName("a:b"))
    }

    @Test func registeringTheSameMetricTwiceSharesIt() {
        let registry = MetricsRegistry()
        registry.counter("shared_total", help: "Shared.").increment()
        registry.counter("shared_total", help: "Shared.").increment()
        #expect(registry.exposition().contains("shared_total 2\n"))
    }

    @Test func infoMetricShowsOnlyTheLatestLabels() throws {
        let registry = MetricsRegistry()
        let info = registry.info("thing_info", help: "Facts.", labelNames: ["core", "threads"])
        #expect(!registry.exposition().contains("thing_info{"))
        info.set("Haswell", "2")
        info.set("SkylakeX", "4")
        let parsed = try PrometheusExposition(registry.exposition())
        #expect(parsed.families["thing_info"]?.samples == [
            .init(name: "thing_info", labels: ["core": "SkylakeX", "threads": "4"], value: 1),
        ])
    }

    /// Updates from many threads at once lose nothing (atomics for counters and gauges,
    /// a lock for histograms), while scrapes run alongside and always parse.
    @Test func concurrentUpdatesAreExact() throws {
        let registry = MetricsRegistry()
        let counter = registry.counter("events_total", help: "Events.")
        let gauge = registry.gauge("level", help: "Level.")
        let histogram = registry.histogram("size", help: "Sizes.", buckets: [1, 2, 3])
        let threads = 8, perThread = 20_000
        let unreadableScrapes = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: threads + 1) { index in
            guard index < threads else {
                for _ in 0..<50 {
                    do {
                        _ = try PrometheusExposition(registry.exposition())
                    } catch {
                        unreadableScrapes.withLock { $0.append("\(error)") }
                    }
                }
                return
            }
            for step in 0..<perThread {
                counter.increment()
                gauge.add(1)
                gauge.add(-0.5)
                histogram.observe(Double(step % 4))
            }
        }
        #expect(unreadableScrapes.withLock { $0 }.isEmpty)
        #expect(counter.value == UInt64(threads * perThread))
        #expect(gauge.value == Double(threads * perThread) / 2)
        let snapshot = histogram.snapshot
        #expect(snapshot.count == UInt64(threads * perThread))
        #expect(snapshot.cumulative == [UInt64(threads * perThread / 2), UInt64(threads * perThread * 3 / 4),
                                        UInt64(threads * perThread), UInt64(threads * perThread)])
        #expect(snapshot.sum == Double(threads * perThread / 4 * (0 + 1 + 2 + 3)))
    }
}
