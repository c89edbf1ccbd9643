import JobStore
import Testing
import TestSupport

/// The SQL users write: INSERTs, checks that name the field, idempotency keys.
@Suite struct JobContractTests {
    @Test func completionAndChatInsertsAsInTheREADME() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let completion = try connection.query("""
                INSERT INTO scribe.jobs (prompt, params) VALUES ('Once upon a time', '{"max_tokens": 32, "temperature": 0}') RETURNING id
                """).scalar!
            let chat = try connection.query("""
                INSERT INTO scribe.jobs (messages, params) VALUES ('[{"role":"user","content":"Hi"}]', '{}') RETURNING id
                """).scalar!
            let rows = try connection.query(
                """
                SELECT status, attempts, max_attempts, priority, run_at <= now() AS runnable, params::text,
                       result, error, finished_at
                FROM scribe.jobs WHERE id IN ($1, $2) ORDER BY id
                """, [completion, chat])
            #expect(rows.rows == [
                ["queued", "0", "3", "0", "t", #"{"max_tokens": 32, "temperature": 0}"#, nil, nil, nil],
                ["queued", "0", "3", "0", "t", "{}", nil, nil, nil],
            ])
            // An explicit NULL params means the defaults, too.
            let id = try connection.query("INSERT INTO scribe.jobs (prompt, params) VALUES ('x', NULL) RETURNING id").scalar!
            #expect(try connection.column("params", of: Int64(id)!) == "{}")
        }
    }

    @Test func exactlyOneOfPromptOrMessages() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for sql in [
                #"INSERT INTO scribe.jobs (prompt, messages) VALUES ('x', '[{"role":"user","content":"Hi"}]')"#,
                "INSERT INTO scribe.jobs (params) VALUES ('{}')",
            ] {
                let error = #expect(throws: PostgresError.self) { try connection.query(sql) }
                #expect(error?.sqlState == "23514")
                #expect(error?.message.contains("a job needs exactly one of prompt or messages") == true)
            }
            for (messages, expected) in [
                ("[]", "messages must be a non-empty array"),
                (#"{"role":"user"}"#, "messages must be a non-empty array"),
                (#"[{"role":"user","content":"Hi"}, {"content":"no role"}]"#, "messages[1].role must be a string of 1 to 64 bytes"),
                (#"[{"role":"user","content":7}]"#, "messages[0].content must be a string"),
            ] {
                let error = #expect(throws: PostgresError.self) {
                    try connection.query("INSERT INTO scribe.jobs (messages) VALUES ($1)", [messages])
                }
                #expect(error?.message.contains(expected) == true, "\(messages): \(error?.message ?? "")")
            }
        }
    }

    @Test func paramsTypesAndRangesAreCheckedNamingTheField() throws {
        let refused: [(String, String)] = [
            (#"[1]"#, "params must be a JSON object"),
            (#"{"temperature": -0.1}"#, "params.temperature must be a number in [0, 100]"),
            (#"{"temperature": "0.7"}"#, "params.temperature must be a number in [0, 100]"),
            (#"{"top_p": 0}"#, "params.top_p must be a number in (0, 1]"),
            (#"{"top_p": 1.5}"#, "params.top_p must be a number in (0, 1]"),
            (#"{"min_p": 2}"#, "params.min_p must be a number in [0, 1]"),
            (#"{"top_k": -2}"#, "params.top_k must be -1, 0 (off) or an integer >= 1"),
            (#"{"top_k": 2.5}"#, "params.top_k must be -1, 0 (off) or an integer >= 1"),
            (#"{"repetition_penalty": 0}"#, "params.repetition_penalty must be a number in (0, 100]"),
            (#"{"presence_penalty": 3}"#, "params.presence_penalty must be a number in [-2, 2]"),
            (#"{"frequency_penalty": -2.5}"#, "params.frequency_penalty must be a number in [-2, 2]"),
            (#"{"seed": "42"}"#, "params.seed must be an integer"),
            (#"{"seed": 1e30}"#, "params.seed must be an integer"),
            (#"{"max_tokens": 0}"#, "params.max_tokens must be an integer in [1, 1048576]"),
            (#"{"max_tokens": 32.5}"#, "params.max_tokens must be an integer in [1, 1048576]"),
            (#"{"min_tokens": -1}"#, "params.min_tokens must be an integer in [0, max_tokens] (max_tokens is 16)"),
            (#"{"min_tokens": 9, "max_tokens": 8}"#, "params.min_tokens must be an integer in [0, max_tokens] (max_tokens is 8)"),
            (#"{"ignore_eos": 1}"#, "params.ignore_eos must be true or false"),
            (#"{"stop": 5}"#, "params.stop must be a string or an array of strings"),
            (#"{"stop": ["\n", 5]}"#, "params.stop[1] must be a non-empty string"),
            (#"{"stop_token_ids": [1, -2]}"#, "params.stop_token_ids[1] must be a token id (an integer >= 0)"),
            (#"{"stop_token_ids": 2}"#, "params.stop_token_ids must be an array of token ids"),
            (#"{"logit_bias": [1]}"#, "params.logit_bias must be an object"),
            (#"{"logit_bias": {"abc": 1}}"#, #"params.logit_bias key "abc" must be a token id"#),
            (#"{"logit_bias": {"15": 101}}"#, #"params.logit_bias["15"] must be a number in [-100, 100]"#),
            (#"{"logit_bias": {"15": "x"}}"#, #"params.logit_bias["15"] must be a number in [-100, 100]"#),
            (#"{"logprobs": 21}"#, "params.logprobs must be an integer in [0, 20]"),
            (#"{"n": 0}"#, "params.n must be an integer in [1, 16]"),
            (#"{"top_a": 3}"#, "unknown field params.top_a"),
        ]
        let accepted = [
            #"{}"#,
            #"{"temperature": 0, "top_p": 1, "top_k": -1, "min_p": 0, "max_tokens": 1}"#,
            #"{"temperature": null, "seed": 5, "stop": "\n\n", "stop_token_ids": [], "ignore_eos": true}"#,
            #"{"repetition_penalty": 1.1, "presence_penalty": -2, "frequency_penalty": 2, "n": 2}"#,
            #"{"stop": ["a", "b"], "logit_bias": {"15": -100, "7": 3.5}, "logprobs": 0, "min_tokens": 4, "max_tokens": 4}"#,
            // Integral numbers with a fraction or an exponent count as integers.
            #"{"max_tokens": 32.0, "n": 1e0}"#,
        ]
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for (params, expected) in refused {
                let error = #expect(throws: PostgresError.self, "\(params)") {
                    try connection.insertJob(params: params)
                }
                #expect(error?.sqlState == "23514")
                #expect(error?.message.contains("ERROR:  " + expected) == true, "\(params): \(error?.message ?? "")")
                // The same sentence is available before inserting.
                let problem = try connection.query("SELECT scribe.params_problem($1)", [params]).scalar
                #expect(problem?.hasPrefix(expected) == true)
            }
            for params in accepted {
                #expect(throws: Never.self, "\(params)") { try connection.insertJob(params: params) }
            }
            // UPDATE of params is checked as well.
            let id = try connection.insertJob()
            #expect(throws: PostgresError.self) {
                try connection.query(#"UPDATE scribe.jobs SET params = '{"top_p": 7}' WHERE id = $1"#, [id])
            }
        }
    }

    @Test func otherColumnsHaveNamedChecks() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for (sql, constraint) in [
                ("INSERT INTO scribe.jobs (prompt, max_attempts) VALUES ('x', 0)", "max_attempts must be in [1, 100], got 0"),
                ("INSERT INTO scribe.jobs (prompt, callback_url) VALUES ('x', 'ftp://h/')", "jobs_callback_url_http"),
                ("INSERT INTO scribe.jobs (prompt, metadata) VALUES ('x', '[1]')", "metadata must be a JSON object"),
                ("INSERT INTO scribe.jobs (prompt, status) VALUES ('x', 'done')", "jobs_status_known"),
            ] {
                let error = #expect(throws: PostgresError.self) { try connection.query(sql) }
                #expect(error?.message.contains(constraint) == true, "\(sql): \(error?.message ?? "")")
            }
        }
    }

    @Test func idempotencyKeysAreUniqueAmongUnfinishedJobsOnly() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            let first = try connection.insertJob(idempotencyKey: "order-17")
            let duplicate = #expect(throws: PostgresError.self) { try connection.insertJob(idempotencyKey: "order-17") }
            #expect(duplicate?.sqlState == "23505")
            #expect(duplicate?.message.contains("jobs_tenant_idempotency_key_unfinished") == true)
            // scribe.enqueue answers with the unfinished job's id instead of failing.
            #expect(try connection.query("SELECT scribe.enqueue(prompt => 'x', idempotency_key => 'order-17')").scalar
                == String(first))
            // While it runs the key stays taken; once finished it is free again.
            let queue = JobQueue(connection: connection, workerID: "w1", logger: .silent)
            let claimed = try queue.claim(limit: 1, model: nil, lease: .seconds(30))
            #expect(throws: PostgresError.self) { try connection.insertJob(idempotencyKey: "order-17") }
            _ = try queue.complete([JobResult(id: first, attempt: claimed[0].attempt, outcome: .succeeded, text: "ok")])
            let second = try connection.insertJob(idempotencyKey: "order-17")
            #expect(second != first)
            let third = try connection.query("SELECT scribe.enqueue(prompt => 'x', idempotency_key => 'order-17')").scalar
            #expect(third == String(second))
            // A cancelled job frees its key too; NULL keys never collide.
            #expect(try connection.query("SELECT scribe.cancel($1)", [second]).scalar == "cancelled")
            try connection.insertJob(idempotencyKey: "order-17")
            try connection.insertJob()
            try connection.insertJob()
        }
    }
}
