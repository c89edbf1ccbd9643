import Foundation
@testable import JobStore
import Testing
import TestSupport
@testable import Worker

/// One result the database cannot take hurts only its own job.
@Suite struct ResultBoundTests {
    static func choices(count: Int, tokens: Int, top: Int, spelling: (Int) -> String) -> [JobChoice] {
        (0..<count).map { index in
            JobChoice(index: index, text: String(repeating: "ab\"\\\n", count: tokens), finishReason: "length",
                      logprobs: (0..<tokens).map { position in
                          let token = spelling(position)
                          return JobChoice.TokenLogprobs(
                              token: token, bytes: Array(token.utf8), logprob: -1.25,
                              topLogprobs: (0..<top).map { alternative in
                                  let other = spelling(position + alternative)
                                  return JobChoice.TokenLogprob(token: other, bytes: Array(other.utf8), logprob: -2.5)
                              })
                      })
        }
    }

    @Test func theEstimateIsNeverBelowTheEncodedSize() throws {
        // Spellings that JSON escapes the most: quotes, backslashes, control characters, and
        // multi-byte characters whose `bytes` arrays are long.
        let spellings = ["\"", "\\", "\u{1}", "\n", " the", "é", "日本", "🙂", "\u{7f}", "a"]
        for top in [0, 1, 20] {
            let choices = Self.choices(count: 3, tokens: 200, top: top) { spellings[$0 % spellings.count] }
            let result = JobResult(id: 1, attempt: 1, outcome: .succeeded, text: choices[0].text, finishReason: "length",
                                   choices: choices)
            let encoded = try JSONEncoder().encode(choices).count + JSONEncoder().encode(result.text).count
            #expect(result.estimatedStoredBytes >= encoded, "top \(top)")
            #expect(result.estimatedStoredBytes <= encoded * 4, "top \(top): the estimate should stay near the truth")
        }
    }

    @Test func aResultOverTheBoundFailsWithTheReasonAndKeepsItsCounts() {
        // 16 completions × 8,192 tokens × 20 alternatives: well over 64 MB as JSON.
        let huge = Self.choices(count: 16, tokens: 8192, top: 20) { _ in " token" }
        let result = JobResult(id: 9, attempt: 2, outcome: .succeeded, text: huge[0].text, finishReason: "length",
                               promptTokens: 12, completionTokens: 16 * 8192, choices: huge)
        let bounded = JobTranslation.bounded(result)
        guard case .failed(let error) = bounded.outcome else {
            Issue.record("not failed: \(bounded.outcome)")
            return
        }
        #expect(error.hasPrefix("the result is about "))
        #expect(error.contains("over the 64 MB a job's result may take"))
        #expect(bounded.text == nil && bounded.choices == nil)
        #expect(bounded.fence == result.fence && bounded.completionTokens == 16 * 8192 && bounded.promptTokens == 12)
        // A result within the bound is left as it is.
        let small = JobResult(id: 9, attempt: 2, outcome: .succeeded, text: "fine", choices: Self.choices(count: 2, tokens: 8, top: 5) { _ in "x" })
        #expect(JobTranslation.bounded(small) == small)
    }

    @Test func aResultTheDatabaseRefusesFailsOnlyItsJob() throws {
        try #require(Repository.referenceModelPath != nil, "reference model not fetched (run Ops/setup)")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            // Stands in for any refusal of one row (a check, a size limit): the database
            // refuses the result of the job whose prompt starts with "poison".
            try connection.execute("""
                CREATE FUNCTION public.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.status = 'succeeded' AND NEW.prompt LIKE 'poison%' THEN
                        RAISE EXCEPTION 'poisoned result refused';
                    END IF;
                    RETURN NEW;
                END $$;
                CREATE TRIGGER refuse_poison BEFORE UPDATE ON scribe.jobs
                    FOR EACH ROW EXECUTE FUNCTION public.refuse_poison();
                """)
            try connection.query(
                """
                INSERT INTO scribe.jobs (prompt, params, max_attempts)
                SELECT CASE WHEN g = 13 THEN 'poison ' ELSE 'Job ' END || g, '{"max_tokens": 4, "temperature": 0}', 1
                FROM generate_series(1, 40) g
                """)
            let worker = try WorkerDaemonTests.worker(database, ["--concurrency", "16"])
            defer { worker.signal(SIGKILL) }
            let done = try eventually(timeout: 120) {
                try connection.query("SELECT count(*) FROM scribe.jobs WHERE status IN ('succeeded', 'failed')").scalar == "40"
            }
            worker.signal(SIGTERM)
            #expect(worker.wait(timeout: 30) == 0, "\(worker.log)")
            let counts = try WorkerDaemonTests.counts(connection)
            #expect(done, "\(counts)\n\(worker.log)")
            #expect(counts == ["succeeded": 39, "failed": 1])
            let failed = try connection.query("SELECT prompt, error, attempts FROM scribe.jobs WHERE status = 'failed'").rows
            #expect(failed.count == 1)
            #expect(failed.first?[0] == "poison 13")
            #expect(failed.first?[1]?.hasPrefix("the result could not be stored: ") == true)
            #expect(failed.first?[1]?.contains("poisoned result refused") == true)
            // Nothing waited for a lease to expire: every job ran once.
            #expect(try connection.query("SELECT max(attempts) FROM scribe.jobs").scalar == "1")
        }
    }
}
