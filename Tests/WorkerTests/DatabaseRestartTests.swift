import Foundation
import JobStore
import Testing
import TestSupport

/// A worker whose PostgreSQL server restarts under it: on a server of the test's own, so
/// the other suites' shared server never goes away.
@Suite struct DatabaseRestartTests {
    @Test func noResultIsLostWhenPostgreSQLRestartsMidRun() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let server = try ScratchServer()
        defer { server.remove() }
        var connection = try PostgresConnection(connectionString: server.url)
        try StatusChanges.install(connection)
        try WorkerDaemonTests.enqueue(connection, count: 40, params: #"{"max_tokens": 16, "temperature": 0}"#)
        let worker = try WorkerDaemonTests.worker(url: server.url, ["--concurrency", "8", "--metrics-port", "0"])
        defer { worker.signal(SIGKILL) }

        #expect(try eventually(timeout: 120) { try WorkerDaemonTests.counts(connection)["succeeded"] ?? 0 >= 4 })
        let port = try #require(worker.logged("metrics.port").flatMap { UInt16($0) }, "\(worker.log)")
        let tokensBefore = try worker.metric("scribe_tokens_generated_total", port: port)
        try server.stop()
        // The worker goes on generating with the database away (its results wait in memory).
        let generated = try eventually(timeout: 60) {
            try worker.metric("scribe_tokens_generated_total", port: port) >= tokensBefore + 16
        }
        #expect(generated, "\(worker.log)")
        // Nothing can be claimed meanwhile, so generation stops once every job held has
        // finished: then all their results wait in memory for the server.
        let idle = try eventually(timeout: 60) {
            let before = try worker.metric("scribe_tokens_generated_total", port: port)
            Thread.sleep(forTimeInterval: 0.5)
            return try worker.metric("scribe_tokens_generated_total", port: port) == before
        }
        #expect(idle, "\(worker.log)")
        try server.start()
        connection = try PostgresConnection(connectionString: server.url)

        let done = try eventually(timeout: 180) { try WorkerDaemonTests.counts(connection)["succeeded"] == 40 }
        let reconnects = try worker.metric("scribe_database_reconnects_total", port: port)
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
        let final = try WorkerDaemonTests.counts(connection)
        #expect(done, "\(final)\n\(worker.log)")

        #expect(reconnects >= 1)
        // Results finished while the server was down were written after the reconnect.
        let pending = worker.logged("results.pending", after: "Database reconnected").flatMap { Int($0) }
        #expect((pending ?? 0) > 0, "\(worker.log)")
        let results = try connection.query(
            "SELECT count(*) FROM scribe.jobs WHERE status = 'succeeded' AND result IS NOT NULL AND completion_tokens > 0")
        #expect(results.scalar == "40")
        // Nobody did a job twice: one claim and one result per job.
        #expect(try connection.query("SELECT max(attempts) FROM scribe.jobs").scalar == "1")
        #expect(try StatusChanges.jobsEntering("running", connection) == StatusChanges.Count(jobs: 40, changes: 40))
        #expect(try StatusChanges.jobsEntering("succeeded", connection) == StatusChanges.Count(jobs: 40, changes: 40))
    }
}

extension DatabaseRestartTests {
    @Test func aWorkerStartedWhileTheDatabaseIsDownWaitsForIt() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let server = try ScratchServer()
        defer { server.remove() }
        let url = server.url
        try server.stop()
        let worker = try WorkerDaemonTests.worker(url: url, ["--concurrency", "4"])
        defer { worker.signal(SIGKILL) }
        // It keeps trying (and says so) instead of exiting.
        #expect(try eventually(timeout: 60) { worker.log.components(separatedBy: "Database connection failed").count > 1 },
                "\(worker.log)")
        Thread.sleep(forTimeInterval: 2)
        #expect(worker.isRunning, "\(worker.log)")
        try server.start()
        let connection = try PostgresConnection(connectionString: server.url)
        try WorkerDaemonTests.enqueue(connection, count: 8, params: #"{"max_tokens": 4, "temperature": 0}"#)
        let done = try eventually(timeout: 120) { try WorkerDaemonTests.counts(connection)["succeeded"] == 8 }
        worker.signal(SIGTERM)
        #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
        #expect(done, "\(worker.log)")
    }
}

/// A trigger-fed log of every status change of `scribe.jobs`, to count claims and results.
enum StatusChanges {
    struct Count: Equatable {
        var jobs: Int
        var changes: Int
    }

    static func install(_ connection: PostgresConnection) throws {
        try connection.execute("""
            CREATE TABLE public.status_changes (job_id bigint, status text, attempts integer);
            CREATE FUNCTION public.record_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO public.status_changes VALUES (NEW.id, NEW.status, NEW.attempts);
                RETURN NULL;
            END $$;
            CREATE TRIGGER record_status_change AFTER UPDATE OF status ON scribe.jobs
                FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
                EXECUTE FUNCTION public.record_status_change();
            """)
    }

    /// Distinct jobs that entered `status`, and how many times any did.
    static func jobsEntering(_ status: String, _ connection: PostgresConnection) throws -> Count {
        let row = try connection.query(
            "SELECT count(DISTINCT job_id), count(*) FROM public.status_changes WHERE status = $1", [status]).rows[0]
        return Count(jobs: Int(row[0] ?? "") ?? -1, changes: Int(row[1] ?? "") ?? -1)
    }
}

extension DaemonProcess {
    /// The value of logfmt key `key` in the first log line holding it (after a line
    /// containing `marker`, when given).
    func logged(_ key: String, after marker: String? = nil) -> String? {
        var lines = log.split(separator: "\n")[...]
        if let marker {
            guard let start = lines.firstIndex(where: { $0.contains(marker) }) else { return nil }
            lines = lines[start...]
        }
        for line in lines {
            guard let range = line.range(of: " \(key)=") else { continue }
            return String(line[range.upperBound...].prefix { !$0.isWhitespace })
        }
        return nil
    }

    /// One unlabelled sample of the worker's /metrics.
    func metric(_ name: String, port: UInt16) throws -> Double {
        let body = try RawHTTPClient.get("/metrics", port: port).body
        let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
    }
}

/// `scribe migrate --wait` (what the systemd unit runs) waits for a server still starting.
@Suite struct MigrateWaitTests {
    @Test func migrateWaitsForTheServerToStart() throws {
        let server = try ScratchServer()
        defer { server.remove() }
        try server.stop()
        var environment = Repository.environment
        environment["DATABASE_URL"] = server.url
        let migrate = try DaemonProcess([Executables.scribe, "migrate", "--wait", "60"], environment: environment)
        defer { migrate.signal(SIGKILL) }
        #expect(try eventually(timeout: 30) { migrate.log.contains("Database unavailable: retrying") }, "\(migrate.log)")
        #expect(migrate.isRunning)
        try server.start()
        #expect(migrate.wait(timeout: 60) == 0, "\(migrate.log)")
        #expect(migrate.log.contains("schema version"), "\(migrate.log)")
        // Without --wait it fails at once, saying why.
        try server.stop()
        let refused = try DaemonProcess([Executables.scribe, "migrate"], environment: environment)
        #expect(refused.wait(timeout: 30) == 1, "\(refused.log)")
        #expect(refused.log.contains("cannot connect to PostgreSQL"), "\(refused.log)")
    }
}
