import Foundation
import Logging
import Operations
import ScribeCore
import Synchronization
import Testing
import TestSupport

@Suite struct MetricsServerTests {
    private func startServer(_ metrics: ScribeMetrics, logs: CapturedLogs = CapturedLogs()) throws -> MetricsServer {
        try MetricsServer.start(port: 0, registry: metrics.registry, logger: logs.logger())
    }

    @Test func scrapeOverTCPParsesAsPrometheusText() throws {
        let metrics = ScribeMetrics(version: "0.1.0")
        metrics.tokensGenerated.add(5)
        metrics.jobLatency.observe(1.5)
        let logs = CapturedLogs()
        let server = try startServer(metrics, logs: logs)
        defer { server.stop() }
        #expect(server.host == "127.0.0.1")
        #expect(server.port != 0)
        #expect(logs.records.contains {
            $0.message == "Metrics server listening" && $0.metadata["metrics.port"] == "\(server.port)"
        })

        let response = try RawHTTPClient.get("/metrics", port: server.port)
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.headers["connection"] == "close")
        let parsed = try PrometheusExposition(response.body)
        #expect(parsed.value("scribe_tokens_generated_total") == 5)
        #expect(parsed.value("scribe_job_latency_seconds_count") == 1)
        #expect(parsed.families["scribe_job_latency_seconds"]?.type == "histogram")

        // Each scrape sees the values of that moment.
        metrics.tokensGenerated.add(1)
        let again = try PrometheusExposition(RawHTTPClient.get("/metrics?x=1", port: server.port).body)
        #expect(again.value("scribe_tokens_generated_total") == 6)
    }

    @Test func otherPathsAndMethodsAreRefused() throws {
        let server = try startServer(ScribeMetrics(version: "1"))
        defer { server.stop() }
        #expect(try RawHTTPClient.get("/", port: server.port).status == 404)
        #expect(try RawHTTPClient.get("/metricsx", port: server.port).status == 404)
        let post = try RawHTTPClient.get("/metrics", port: server.port, method: "POST")
        #expect(post.status == 405)
        #expect(post.headers["allow"] == "GET, HEAD")
        #expect(try RawHTTPClient.request("garbage\r\n\r\n", port: server.port).status == 400)

        // HEAD: the headers of a GET, no body (Content-Length still the body's).
        guard let descriptor = try RawHTTPClient.connect(port: server.port) else { throw RawHTTPClient.Failure(description: "refused") }
        defer { close(descriptor) }
        RawHTTPClient.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", on: descriptor)
        let head = RawHTTPClient.readAll(descriptor)
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"))
        #expect(!head.contains("# TYPE"))
    }

    /// A client that connects and sends nothing does not hold up others: each
    /// connection is served on its own thread.
    @Test func concurrentScrapesAreServedWhileOneClientStalls() throws {
        let metrics = ScribeMetrics(version: "1")
        let server = try startServer(metrics)
        defer { server.stop() }
        guard let stalled = try RawHTTPClient.connect(port: server.port) else { throw RawHTTPClient.Failure(description: "refused") }
        defer { close(stalled) }

        let results = Mutex<[Int]>([])
        let started = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            let status = (try? RawHTTPClient.get("/metrics", port: server.port).status) ?? -1
            results.withLock { $0.append(status) }
        }
        #expect(results.withLock { $0 } == Array(repeating: 200, count: 8))
        #expect(ContinuousClock.now - started < .seconds(4), "a stalled client delayed the others")
    }

    @Test func stopClosesThePortAndIsIdempotent() throws {
        let server = try startServer(ScribeMetrics(version: "1"))
        let port = server.port
        #expect(try RawHTTPClient.get("/metrics", port: port).status == 200)
        server.stop()
        server.stop()
        #expect(try RawHTTPClient.connect(port: port) == nil)
        #expect(server.connectionsInProgress == 0)
    }

    @Test func aPortInUseIsReportedNotFatal() throws {
        let first = try startServer(ScribeMetrics(version: "1"))
        defer { first.stop() }
        #expect {
            _ = try MetricsServer.start(port: first.port, registry: MetricsRegistry(), logger: CapturedLogs().logger())
        } throws: { error in
            (error as? SystemCallError)?.call == "bind" && (error as? SystemCallError)?.errno == EADDRINUSE
        }
        #expect {
            _ = try MetricsServer.start(host: "not an address", port: 0, registry: MetricsRegistry(), logger: CapturedLogs().logger())
        } throws: { error in
            (error as? SystemCallError)?.call == "getaddrinfo"
        }
    }
}
