import Batches
import Constraints
import Engine
import JobStore
import Testing

/// The whole-file check of `scribe batch submit`, without a database.
@Suite struct BatchFileTests {
    static func parse(_ lines: [String]) -> Result<BatchFile, BatchFile.Refusal> {
        BatchFile.parse(Array(lines.joined(separator: "\n").utf8))
    }

    static func chat(_ id: String, _ body: String = #""messages": [{"role": "user", "content": "Hi"}]"#) -> String {
        #"{"custom_id": "\#(id)", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "smol", \#(body)}}"#
    }

    static func refusal(_ lines: [String]) -> [BatchFileError] {
        guard case .failure(let refusal) = parse(lines) else { return [] }
        return refusal.errors
    }

    @Test func aValidChatFileBecomesJobsInOrder() throws {
        let file = try Self.parse([
            Self.chat("a"), "", Self.chat("b", #""messages": [{"role": "developer", "content": "Be brief"}, {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]}], "max_completion_tokens": 5, "temperature": 0, "n": 2, "logprobs": true, "top_logprobs": 3, "stop": ["\n"], "seed": 7"#),
        ]).get()
        #expect(file.endpoint == .chatCompletions)
        #expect(file.model == "smol")
        #expect(file.requests.map(\.customID) == ["a", "b"])
        #expect(file.requests[0].prompt == nil)
        #expect(file.requests[0].messagesJSON == #"[{"content":"Hi","role":"user"}]"#)
        #expect(file.requests[0].paramsJSON == #"{"max_tokens":1024}"#)  // chat's default bound
        #expect(file.requests[1].messagesJSON == #"[{"content":"Be brief","role":"system"},{"content":"one\ntwo","role":"user"}]"#)
        let params = try SamplingParams.parse(json: file.requests[1].paramsJSON)
        #expect(params.maxTokens == 5 && params.n == 2 && params.logprobs == 3 && params.temperature == 0)
        #expect(params.stop == ["\n"] && params.seed == 7)
    }

    @Test func completionsTakeAPromptAndNumericLogprobs() throws {
        let line = #"{"custom_id": "x", "method": "POST", "url": "/v1/completions", "body": {"model": "m", "prompt": ["Once"], "max_tokens": 3, "logprobs": 2, "stream": false, "echo": false}}"#
        let file = try Self.parse([line]).get()
        #expect(file.endpoint == .completions)
        #expect(file.requests[0].prompt == "Once")
        #expect(file.requests[0].paramsJSON == #"{"logprobs":2,"max_tokens":3}"#)
    }

    @Test func everyBadLineIsReportedWithItsNumberAndReason() {
        let errors = Self.refusal([
            Self.chat("a"),
            "{not json",
            #"{"custom_id": "b", "method": "POST", "url": "/v1/embeddings", "body": {}}"#,
            #"{"custom_id": "c", "method": "POST", "url": "/v1/chat/completions"}"#,
            Self.chat("a"),
            Self.chat("d", #""messages": [{"role": "user", "content": "Hi"}], "temperature": -1"#),
            #"{"custom_id": "e", "method": "GET", "url": "/v1/chat/completions", "body": {}}"#,
            Self.chat("f", #""messages": [{"role": "user", "content": "Hi"}], "stream": true"#),
            Self.chat("g", #""messages": [{"role": "user", "content": "Hi"}], "temprature": 1"#),
            Self.chat("h", #""messages": [{"role": "user", "content": "Hi"}], "tools": [{"type": "function"}]"#),
            "[1, 2]",
        ])
        #expect(errors.map(\.line) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
        #expect(errors.map(\.code) == ["invalid_json", "invalid_url", "missing_body", "duplicate_custom_id", "invalid_request",
                                       "invalid_method", "invalid_request", "invalid_request", "invalid_request", "invalid_json"])
        #expect(errors[3].message == #"custom_id "a" is already used on line 1"#)
        #expect(errors[4].param == "body.temperature")
        #expect(errors[4].message.contains("body.temperature must be a number in [0, 100]"))
        #expect(errors[6].message.contains("stream"))
        #expect(errors[7].message == "unknown field body.temprature (did you mean body.temperature?)")
        #expect(errors[8].message.contains("body.tools"))
    }

    /// `response_format` and `structured_outputs` become the job's params as written; what
    /// only compiling finds is refused at submit with the schema path.
    @Test func constraintsPassIntoTheJobAndBadOnesAreRefusedAtSubmit() throws {
        let schema = #""response_format": {"type": "json_schema", "json_schema": {"name": "person", "strict": true, "schema": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"], "additionalProperties": false}}}"#
        let messages = #""messages": [{"role": "user", "content": "Hi"}], "#
        let file = try Self.parse([Self.chat("a", messages + schema), Self.chat("b", messages + #""structured_outputs": {"choice": ["yes", "no"]}"#),
                                   Self.chat("c", messages + #""response_format": {"type": "text"}"#)]).get()
        let first = try SamplingParams.parse(json: file.requests[0].paramsJSON)
        #expect(first.constraint?.field == "params.response_format.json_schema.schema")
        #expect(try SamplingParams.parse(json: file.requests[1].paramsJSON).constraint?.kind == .choice(["yes", "no"]))
        #expect(try SamplingParams.parse(json: file.requests[2].paramsJSON).constraint == nil)
        let errors = Self.refusal([
            Self.chat("d", messages + #""response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "properties": {"email": {"type": "string", "pattern": "(?<=a)b"}}}}}"#),
            Self.chat("e", messages + #""response_format": {"type": "json_schema", "json_schema": {"name": "p", "schema": {"type": "object", "patternProperties": {}}}}"#),
            Self.chat("f", messages + #""structured_outputs": {"grammar": "root ::= item\nitem ::= root \"x\""}"#),
        ])
        #expect(errors.map(\.line) == [1, 2, 3])
        #expect(errors.map(\.param) == ["body.response_format.json_schema.schema.properties.email.pattern",
                                        "body.response_format.json_schema.schema.patternProperties", "body.structured_outputs.grammar"])
        #expect(errors[0].message.hasPrefix("body.response_format.json_schema.schema.properties.email.pattern: lookaround"), "\(errors[0].message)")
        #expect(errors[1].message == "body.response_format.json_schema.schema.patternProperties: patternProperties is not supported")
    }

    @Test func oneEndpointAndOneModelPerFile() {
        let completion = #"{"custom_id": "z", "method": "POST", "url": "/v1/completions", "body": {"prompt": "x"}}"#
        #expect(Self.refusal([Self.chat("a"), completion]).map(\.code) == ["mismatched_url"])
        let other = #"{"custom_id": "b", "method": "POST", "url": "/v1/chat/completions", "body": {"model": "other", "messages": [{"role": "user", "content": "Hi"}]}}"#
        let errors = Self.refusal([Self.chat("a"), other])
        #expect(errors.map(\.code) == ["mismatched_model"])
        #expect(errors.first?.line == 2)
    }

    @Test func missingFieldsAndEmptyFilesAreNamed() {
        #expect(Self.refusal([]).map(\.code) == ["empty_file"])
        #expect(Self.refusal(["", "  "]).map(\.code) == ["empty_file"])
        #expect(Self.refusal([#"{"method": "POST", "url": "/v1/completions", "body": {"prompt": "x"}}"#]).map(\.code) == ["missing_custom_id"])
        #expect(Self.refusal([#"{"custom_id": "a", "method": "POST", "url": "/v1/completions", "body": {}}"#]).map(\.message)
            == ["body.prompt is missing: a completion needs a prompt"])
        #expect(Self.refusal([Self.chat("a", #""messages": []"#)]).map(\.param) == ["body.messages"])
        #expect(Self.refusal([Self.chat("a", #""messages": [{"role": "tool", "content": "x"}]"#)]).map(\.param) == ["body.messages[0].role"])
        #expect(Self.refusal([Self.chat("a", #""messages": [{"role": "user", "content": "x"}], "top_logprobs": 2"#)]).map(\.param)
            == ["body.top_logprobs"])
        #expect(Self.refusal([Self.chat("a", #""messages": [{"role": "user", "content": "x"}], "max_tokens": 4, "max_completion_tokens": 5"#)]).map(\.param)
            == ["body.max_completion_tokens"])
    }

    @Test func crlfLinesAndAMissingFinalNewlineAreFine() throws {
        let text = Self.chat("a") + "\r\n" + Self.chat("b")
        let file = try BatchFile.parse(Array(text.utf8)).get()
        #expect(file.requests.map(\.customID) == ["a", "b"])
    }

    @Test func completionWindows() {
        #expect(CompletionWindow("24h")?.duration == .seconds(86_400))
        #expect(CompletionWindow("90m")?.duration == .seconds(5_400))
        #expect(CompletionWindow("2s")?.duration == .seconds(2))
        for bad in ["", "h", "0h", "-1h", "24", "1.5h", "400d", "24 h"] { #expect(CompletionWindow(bad) == nil, "\(bad)") }
    }
}
