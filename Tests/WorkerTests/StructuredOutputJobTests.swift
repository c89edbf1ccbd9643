import Foundation
import JobStore
import ScribeCore
import Testing
import TestSupport

/// `Jobs/extraction.sql` as a user runs it: its INSERT … SELECTs enqueue a table's rows
/// with a JSON Schema and with scored choices, a worker runs them, and its SELECTs read the
/// fields and the probabilities back as columns.
@Suite(.serialized) struct StructuredOutputJobTests {
    @Test func theExtractionExampleRunsAsWritten() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        let script = try String(contentsOfFile: Repository.path("Jobs/extraction.sql"), encoding: .utf8)
        // Its statements: the table and the INSERTs run first; the SELECTs read the results.
        let statements = script.components(separatedBy: ";\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
        let reads = statements.filter { $0.split(separator: "\n").first { !$0.hasPrefix("--") }?.hasPrefix("SELECT") == true }
        #expect(reads.count == 2)
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for statement in statements where !reads.contains(statement) { try connection.execute(statement) }
            #expect(try connection.query("SELECT count(*) FROM scribe.jobs").scalar == "8")
            let worker = try WorkerDaemonTests.worker(database)
            #expect(try eventually(timeout: 300) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE status = 'succeeded'").scalar == "8"
            }, "\(worker.log)")
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0)

            // Every ticket that ended by stop reads back as typed columns within the schema.
            let fields = try connection.query(reads[0]).rows
            let stopped = try connection.query(
                "SELECT count(*) FROM scribe.jobs WHERE metadata ? 'ticket_id' AND finish_reason = 'stop'").scalar
            #expect(String(fields.count) == stopped && fields.count >= 3, "\(fields)")
            for row in fields {
                #expect(["billing", "hardware", "software", "question"].contains(row[1] ?? ""), "\(row)")
                #expect((1...5).contains(Int(row[2] ?? "") ?? 0), "\(row)")
                #expect(["true", "false", "t", "f"].contains(row[4] ?? ""), "\(row)")
            }
            // Every routed ticket: four probabilities summing to 1, the result the most probable.
            let scores = try connection.query(reads[1]).rows
            #expect(scores.count == 16)
            for ticket in Set(scores.map { $0[0]! }) {
                let rows = scores.filter { $0[0] == ticket }
                let probabilities = rows.map { Double($0[3]!)! }
                #expect(rows.count == 4 && abs(probabilities.reduce(0, +) - 1) < 0.003, "\(rows)")
                #expect(rows[0][1] == rows[0][2], "the result is the most probable choice: \(rows)")
            }
        }
    }
}
