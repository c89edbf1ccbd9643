import ScribeCore
import Batches
import Engine
import Foundation
import JobStore
import Testing
import TestSupport

/// The job contract is one contract: every case of the corpus goes through the database's
/// checks (`scribe.job_problem`, what INSERT runs) and through Scribe's own
/// (`JobContract.problem`, what the worker, `scribe batch submit` and `scribe generate`
/// run), and both must accept it or both refuse it, naming the same field.
@Suite struct JobContractParityTests {
    typealias Job = JobContract.Job

    /// Jobs with one thing to look at each: every field's edges, every JSON type,
    /// unicode and NUL, the limits and one past them.
    static var corpus: [(label: String, job: Job)] {
        var cases: [(String, Job)] = []
        func add(_ label: String, _ job: Job) { cases.append((label, job)) }
        func params(_ json: String) { add("params \(json.prefix(60))", Job(prompt: "Hi", paramsJSON: json)) }
        let mib = JobContract.maxPromptBytes

        // Input: prompt.
        for prompt in ["", "Hello", "日本語のプロンプト", "🙂 emoji and \u{301}combining", "RTL \u{202E}text", "tab\tnew\nline\u{1}",
                       String(repeating: "a", count: mib), String(repeating: "a", count: mib + 1),
                       String(repeating: "日", count: mib / 3), String(repeating: "日", count: mib / 3 + 1)] {
            add("prompt of \(prompt.utf8.count) bytes", Job(prompt: prompt))
        }
        add("neither prompt nor messages", Job())
        add("both prompt and messages", Job(prompt: "x", messagesJSON: #"[{"role":"user","content":"x"}]"#))

        // Input: messages.
        let big = String(repeating: "b", count: mib / 2)
        for messages in [
            #"[{"role":"user","content":"Hi"}]"#, #"[{"role":"system","content":"Be brief"},{"role":"user","content":"Hi"}]"#,
            #"[{"role":"user","content":"Hi","name":"bob"}]"#, #"[{"role":"user","content":""}]"#,
            #"[{"role":"user","content":"日本 🙂"}]"#, #"[{"role":"user","content":"a\u0000b"}]"#,
            #"[{"role":"user"}]"#, #"[{"role":"user","content":null}]"#,
            #"[{"role":"user","content":[{"type":"text","text":"Hi"}]}]"#, #"[{"role":"user","content":5}]"#,
            #"[{"role":"user","content":true}]"#, #"[{"role":"user","content":{}}]"#,
            #"[{"content":"Hi"}]"#, #"[{"role":5,"content":"Hi"}]"#, #"[{"role":"","content":"Hi"}]"#,
            "[{\"role\":\"\(String(repeating: "r", count: 64))\",\"content\":\"Hi\"}]",
            "[{\"role\":\"\(String(repeating: "r", count: 65))\",\"content\":\"Hi\"}]",
            "[{\"role\":\"\(String(repeating: "é", count: 33))\",\"content\":\"Hi\"}]",
            #"[]"#, #"{}"#, #""user""#, #"null"#, #"5"#, #"["Hi"]"#, #"[null]"#, #"[[]]"#,
            #"[{"role":"user","content":"Hi"},5]"#,
            "[\(Array(repeating: #"{"role":"user","content":"x"}"#, count: 1024).joined(separator: ","))]",
            "[\(Array(repeating: #"{"role":"user","content":"x"}"#, count: 1025).joined(separator: ","))]",
            "[{\"role\":\"user\",\"content\":\"\(big)\"},{\"role\":\"user\",\"content\":\"\(big)\"}]",
            "[{\"role\":\"user\",\"content\":\"\(big)\"},{\"role\":\"user\",\"content\":\"\(big)x\"}]",
            "{", "[{\"role\":\"user\",\"content\":\"unterminated}]",
        ] {
            add("messages \(messages.prefix(60))", Job(messagesJSON: messages))
        }

        // Params: each field's edges and every JSON type.
        let types = ["null", "true", "false", "\"1\"", "[]", "{}", "[1]", "{\"a\":1}"]
        let fields: [(String, [String])] = [
            ("temperature", ["0", "0.7", "2", "100", "100.0001", "-0.0001", "-1", "1e-400", "1e400", "1.0"]),
            ("top_k", ["-1", "0", "1", "50", "-2", "1.5", "2147483647", "2147483648", "1.0", "1e2"]),
            ("top_p", ["0", "1e-9", "0.5", "1", "1.0000001", "-0.1"]),
            ("min_p", ["0", "0.05", "1", "1.5", "-0.001"]),
            ("repetition_penalty", ["0", "0.001", "1", "100", "100.5", "-1"]),
            ("presence_penalty", ["-2", "2", "2.01", "-2.01", "0"]),
            ("frequency_penalty", ["-2", "2", "2.5", "-3", "0.5"]),
            ("seed", ["0", "-1", "42", "9223372036854775807", "9223372036854775808", "18446744073709551615",
                      "18446744073709551616", "1.5", "1e19", "1e20"]),
            ("stop", ["\"x\"", "\"\"", "[]", "[\"a\",\"b\"]", "[\"\"]", "[1]", "[\"a\",null]", "5", "\"é🙂\"",
                      "[\(Array(repeating: "\"s\"", count: 8).joined(separator: ","))]",
                      "[\(Array(repeating: "\"s\"", count: 9).joined(separator: ","))]",
                      "\"\(String(repeating: "s", count: 256))\"", "\"\(String(repeating: "s", count: 257))\"",
                      "[\"\(String(repeating: "日", count: 85))\"]", "[\"\(String(repeating: "日", count: 86))\"]",
                      "\"a\\u0000b\""]),
            ("stop_token_ids", ["[]", "[0]", "[2147483647]", "[2147483648]", "[-1]", "[1.5]", "[\"1\"]", "[1.0]", "5",
                                "[\(Array(repeating: "7", count: 64).joined(separator: ","))]",
                                "[\(Array(repeating: "7", count: 65).joined(separator: ","))]"]),
            ("max_tokens", ["1", "0", "-1", "16", "1048576", "1048577", "1.5", "2.0"]),
            ("min_tokens", ["0", "16", "17", "20", "-1", "1.5"]),
            ("ignore_eos", ["1", "0"]),
            ("logit_bias", ["{\"5\":1}", "{\"5\":100}", "{\"5\":100.1}", "{\"5\":-100}", "{\"5\":-100.5}", "{\"5\":\"1\"}",
                            "{\"5\":null}", "{\"x\":1}", "{\"-1\":1}", "{\"+5\":1}", "{\" 5\":1}", "{\"5.0\":1}",
                            "{\"9999999999\":1}", "{\"2147483647\":0}", "{\"2147483648\":0}", "{\"00000000001\":1}",
                            "{\"\":1}", "{\"٥\":1}", "\"x\"",
                            "{\(( 0..<1024).map { "\"\($0)\":1" }.joined(separator: ","))}",
                            "{\(( 0..<1025).map { "\"\($0)\":1" }.joined(separator: ","))}"]),
            ("logprobs", ["0", "5", "20", "21", "-1", "1.5"]),
            ("n", ["1", "16", "17", "0", "1000000", "1.0", "2e0"]),
            ("choice_logprobs", ["1", "0"]),
        ]
        for (field, values) in fields {
            for value in values + types { params("{\"\(field)\":\(value)}") }
        }
        // min_tokens against the max_tokens given, or the default (16).
        for json in [#"{"min_tokens":20,"max_tokens":32}"#, #"{"min_tokens":33,"max_tokens":32}"#,
                     #"{"min_tokens":16,"max_tokens":null}"#, #"{"min_tokens":5,"max_tokens":"x"}"#] { params(json) }
        // Unknown fields, with and without near misses, and params that are not an object.
        for json in [#"{"foo":1}"#, #"{"temprature":1}"#, #"{"Temperature":1}"#, #"{"max_tokens ":5}"#, #"{"":1}"#,
                     #"{"é":1}"#, #"{"n":2,"zzz":1,"aaa":1}"#, #"{"best_of":2}"#, #"{"stream":true}"#,
                     "[]", "\"x\"", "5", "null", "true", "{", "{}", "{\"n\":\"\\u0000\"}"] { params(json) }
        // The result's size bound: n × max_tokens × (1 + logprobs) ≤ 1,048,576.
        for json in [#"{"n":16,"max_tokens":65536}"#, #"{"n":16,"max_tokens":65537}"#,
                     #"{"max_tokens":49932,"logprobs":20}"#, #"{"max_tokens":49933,"logprobs":20}"#,
                     #"{"n":16,"max_tokens":3120,"logprobs":20}"#, #"{"n":16,"max_tokens":3121,"logprobs":20}"#,
                     #"{"n":16,"logprobs":20}"#, #"{"n":2,"max_tokens":1048576}"#] { params(json) }
        // Everything at once, all valid.
        params(#"{"temperature":0.8,"top_k":40,"top_p":0.95,"min_p":0.05,"repetition_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":-0.5,"seed":7,"stop":["\n\n","END"],"stop_token_ids":[2],"max_tokens":64,"min_tokens":4,"ignore_eos":false,"logit_bias":{"5":-100,"7":2.5},"logprobs":3,"n":2}"#)

        for (label, job) in constraintCorpus { add(label, job) }

        // The other columns.
        for attempts in [1, 3, 100, 101, 0, -1, Int(Int32.max)] {
            add("max_attempts \(attempts)", Job(prompt: "x", maxAttempts: attempts))
        }
        for priority in [0, -5, 1_000_000, 1_000_001, -1_000_000, -1_000_001, Int(Int32.max), Int(Int32.min)] {
            add("priority \(priority)", Job(prompt: "x", priority: priority))
        }
        for model in ["", "smol", "日本", String(repeating: "m", count: 256), String(repeating: "m", count: 257),
                      String(repeating: "é", count: 128), String(repeating: "é", count: 129)] {
            add("model of \(model.utf8.count) bytes", Job(prompt: "x", model: model))
        }
        // jsonb prints {"k": "v…"}: 10 bytes around the value.
        let metadataFill = JobContract.maxMetadataBytes - #"{"k": ""}"#.utf8.count
        for metadata in [#"{}"#, #"{"team":"docs","n":3}"#, #"[]"#, #""x""#, #"5"#, #"null"#, #"{"a":{"b":[1,2,{"c":null}]}}"#,
                         #"{"a":"\u0000"}"#, #"{"#,
                         "{\"k\":\"\(String(repeating: "v", count: metadataFill))\"}",
                         "{\"k\":\"\(String(repeating: "v", count: metadataFill + 1))\"}"] {
            add("metadata \(metadata.prefix(40))", Job(prompt: "x", metadataJSON: metadata))
        }
        for length in [30, 2048, 2049] {
            let url = "http://h.example/" + String(repeating: "p", count: length - 17)
            add("callback_url of \(url.utf8.count) bytes", Job(prompt: "x", callbackURL: url))
        }
        return cases
    }

    /// `response_format` and `structured_outputs`: their shapes and limits, a JSON Schema's
    /// keywords and their paths (keys that need quoting too), nesting and size at the limit
    /// and past it, and what compiling alone finds (which both accept here).
    static var constraintCorpus: [(label: String, job: Job)] {
        var cases: [(String, Job)] = []
        func params(_ json: String) { cases.append(("constraint \(json.prefix(70))", Job(prompt: "Hi", paramsJSON: json))) }
        func format(_ json: String) { params("{\"response_format\":\(json)}") }
        func outputs(_ json: String) { params("{\"structured_outputs\":\(json)}") }
        func schema(_ json: String) { outputs("{\"json\":\(json)}") }
        func named(_ spec: String) { format("{\"type\":\"json_schema\",\"json_schema\":\(spec)}") }

        for json in ["null", #"{"type":"text"}"#, #"{"type":"json_object"}"#, #"{"type":"json_schema"}"#, #"{"type":"xml"}"#,
                     "{}", #""json""#, "5", "[]", #"{"type":"json_object","json_schema":{"name":"x","schema":{}}}"#,
                     #"{"type":"text","extra":1}"#, #"{"type":"json_object","json_schema":null}"#,
                     #"{"type":"json_schema","json_schema":null}"#, #"{"type":null}"#] { format(json) }
        let name65 = String(repeating: "n", count: 65), name64 = String(repeating: "n", count: 64)
        for spec in [#"{"name":"x","schema":{"type":"object"}}"#, #"{"schema":{}}"#, #"{"name":"","schema":{}}"#,
                     "{\"name\":\"\(name64)\",\"schema\":{}}", "{\"name\":\"\(name65)\",\"schema\":{}}",
                     #"{"name":"a b","schema":{}}"#, #"{"name":"é","schema":{}}"#, #"{"name":"a-b_C9","schema":{}}"#,
                     #"{"name":"a$","schema":{}}"#, #"{"name":5,"schema":{}}"#,
                     #"{"name":"x","schema":{},"strict":"yes"}"#, #"{"name":"x","schema":{},"strict":true}"#,
                     #"{"name":"x","schema":{},"strict":null}"#, #"{"name":"x","schema":{},"description":5}"#,
                     #"{"name":"x","schema":{},"description":"d"}"#, #"{"name":"x","schema":{},"foo":1}"#,
                     #"{"name":"x","schema":{},"a b":1}"#, #"{"name":"x"}"#, #"{"name":"x","schema":"{}"}"#,
                     #"{"name":"x","schema":[]}"#, #"{"name":"x","schema":true}"#, #"{"name":"x","schema":null}"#, "[]"] { named(spec) }

        for json in ["{}", #"{"json":{}}"#, #"{"json":true}"#, #"{"json":"{}"}"#, #"{"regex":"a+"}"#, #"{"regex":""}"#,
                     #"{"regex":5}"#, #"{"choice":[]}"#, #"{"choice":["a"]}"#, #"{"choice":["a",""]}"#, #"{"choice":["a",5]}"#,
                     #"{"choice":"a"}"#, #"{"grammar":"root ::= \"a\""}"#, #"{"grammar":""}"#, #"{"json_object":true}"#,
                     #"{"json_object":false}"#, #"{"json_object":1}"#, #"{"json_object":false,"regex":"a"}"#,
                     #"{"regex":"a","choice":["a"]}"#, #"{"regex":null,"choice":["a"]}"#, #"{"disable_any_whitespace":true}"#,
                     #"{"guided_json":{}}"#, #""x""#, "[]", "null",
                     "{\"regex\":\"\(String(repeating: "a", count: 4096))\"}", "{\"regex\":\"\(String(repeating: "a", count: 4097))\"}",
                     "{\"regex\":\"\(String(repeating: "é", count: 2049))\"}",
                     "{\"choice\":[\((0..<256).map { "\"c\($0)\"" }.joined(separator: ","))]}",
                     "{\"choice\":[\((0..<257).map { "\"c\($0)\"" }.joined(separator: ","))]}",
                     "{\"choice\":[\"\(String(repeating: "c", count: 1024))\"]}", "{\"choice\":[\"a\",\"\(String(repeating: "c", count: 1025))\"]}",
                     "{\"grammar\":\"\(String(repeating: "#", count: 65536))\"}", "{\"grammar\":\"\(String(repeating: "#", count: 65537))\"}",
        ] { outputs(json) }

        // Together, and with what a constraint decides for itself.
        for json in [#"{"response_format":{"type":"json_object"},"structured_outputs":{"regex":"a"}}"#,
                     #"{"response_format":{"type":"text"},"structured_outputs":{"regex":"a"}}"#,
                     #"{"response_format":{"type":"json_object"},"ignore_eos":true}"#,
                     #"{"response_format":{"type":"json_object"},"ignore_eos":false}"#,
                     #"{"structured_outputs":{"choice":["a"]},"min_tokens":1}"#, #"{"structured_outputs":{"choice":["a"]},"min_tokens":0}"#,
                     #"{"structured_outputs":{"choice":["a"]},"min_tokens":1,"ignore_eos":true}"#,
                     #"{"structured_outputs":{"json":{"type":"object","properties":{"a":{"foo":1}}}},"min_tokens":1}"#,
                     #"{"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},"min_tokens":2}"#,
                     #"{"responseformat":{"type":"json_object"}}"#,
                     #"{"structured_outputs":{"choice":["a","b"]},"choice_logprobs":true}"#,
                     #"{"structured_outputs":{"choice":["a","b"]},"choice_logprobs":false}"#,
                     #"{"structured_outputs":{"choice":["a","b"]},"choice_logprobs":null}"#,
                     #"{"structured_outputs":{"regex":"a"},"choice_logprobs":true}"#, #"{"choice_logprobs":true}"#,
                     #"{"choice_logprobs":false}"#, #"{"structured_outputs":{"choice":["a","b"]},"choice_logprobs":true,"n":2}"#,
                     #"{"structured_outputs":{"choice":["a","b"]},"choice_logprobs":true,"n":1}"#,
                     #"{"structured_outputs":{"choice":["a","b","a"]},"choice_logprobs":true}"#,
                     #"{"response_format":{"type":"json_object"},"choice_logprobs":true}"#] { params(json) }

        // A schema's keywords: each supported one, its wrong types, and unsupported ones.
        for json in [
            #"{"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer","minimum":0,"maximum":120},"role":{"enum":["a","b"]},"tags":{"type":"array","items":{"type":"string","pattern":"[a-z]+"},"maxItems":3},"when":{"type":"string","format":"date-time"}},"required":["name","age"],"additionalProperties":false}"#,
            #"{"type":"object","properties":{"a":{"type":"string","multipleOf":2}}}"#, #"{"type":5}"#, #"{"type":[]}"#,
            #"{"type":["string","foo"]}"#, #"{"type":["string","null"]}"#, #"{"type":"float"}"#, #"{"properties":[]}"#,
            #"{"properties":{"a":5}}"#, #"{"properties":{"a b":{"x":1}}}"#, #"{"properties":{"ké":{"x":1}}}"#,
            #"{"properties":{"a\"b":{"x":1}}}"#, #"{"properties":{"a\nb\\c":{"x":1}}}"#, #"{"properties":{"\t\u0001\u007f":{"x":1}}}"#,
            #"{"properties":{"":{"x":1}}}"#, #"{"properties":{"$a_1":{"x":1}}}"#,
            #"{"required":"a"}"#, #"{"required":[1]}"#, #"{"enum":[]}"#, #"{"enum":"a"}"#, #"{"const":null}"#, #"{"$ref":5}"#,
            #"{"pattern":5}"#, #"{"format":"ipv4"}"#, #"{"format":5}"#, #"{"minLength":-1}"#, #"{"minLength":10000}"#,
            #"{"minLength":10001}"#, #"{"minLength":1.5}"#, #"{"minLength":2.0}"#, #"{"maxItems":"3"}"#, #"{"minimum":1.5}"#,
            #"{"minimum":-9223372036854775806}"#, #"{"minimum":-9223372036854775807}"#, #"{"maximum":9223372036854775805}"#,
            #"{"maximum":9223372036854775806}"#, #"{"minimum":1e2}"#, #"{"exclusiveMaximum":true}"#, #"{"anyOf":[]}"#,
            #"{"anyOf":{}}"#, #"{"anyOf":[{"type":"string"},{"foo":1}]}"#, #"{"oneOf":[true,5]}"#, #"{"prefixItems":[]}"#,
            #"{"items":5}"#, #"{"items":false}"#, #"{"additionalProperties":"no"}"#, #"{"$defs":{"a":{"bad":1}}}"#,
            #"{"definitions":[]}"#, #"{"title":5,"description":[],"default":{},"examples":1,"$comment":"c"}"#,
            #"{"x-extension":1}"#, #"{"if":{}}"#, #"{"not":{}}"#, #"{"allOf":[{"type":"string"}]}"#, #"{"dependentRequired":{}}"#,
            #"{"unevaluatedProperties":false}"#, #"{"propertyNames":{}}"#, #"{"contains":{}}"#, #"{"uniqueItems":true}"#,
            #"{"patternProperties":{}}"#, #"{"minProperties":1}"#, #"{"multipleOf":1}"#,
            // The first problem in byte order: `aaa` before `properties` before `zzz`, within and across nodes.
            #"{"zzz":1,"properties":{"b":{"yyy":1},"a":{"type":7}},"aaa":1}"#, #"{"zzz":1,"properties":{"b":{"yyy":1},"a":{"type":"string"}}}"#,
            #"{"items":{"items":{"maxItems":-1}},"anyOf":[{"foo":1}]}"#, #"{"anyOf":[{"type":"string"},{"items":[{"bad":1}]}]}"#,
            // What only compiling finds: accepted at INSERT, refused at claim and at batch submit.
            #"{"type":"string","pattern":"a(?=b)"}"#, ##"{"$ref":"#/$defs/none"}"##, #"{"oneOf":[{"type":"string"},{"type":"string"}]}"#,
            #"{"type":"integer","minimum":5,"maximum":1}"#, #"{"required":["missing"],"properties":{}}"#,
        ] { schema(json) }
        // Regular expressions, as `regex` and as a schema's `pattern`: the subset's edges and
        // every refusal, with its offset.
        let nested = { (depth: Int) in String(repeating: "(", count: depth) + "a" + String(repeating: ")", count: depth) }
        for regex in ["a+", "^[a-z]{2,5}$", "(a|b)*c", "(?:ab)+", "a(?=b)", "a(?!b)", "(?<n>a)", "(?P<n>a)", "a{2}", "a{2,}",
                      "a{1001}", "a{5,2}", "a{,3}", "a{x}", "{", "a{2", "a*+", "a++", "a*?", "a??", "*a", "+", "?", "a|*", "^",
                      "$", "^$", "a$b", "a^b", "(a", "a)", "((a)", "(a))", "[a-z", "[z-a]", #"[\d-z]"#, #"[a-\d]"#, "[]a]", "[^]a]",
                      #"[a\-z]"#, #"[\u0041-\u005A]"#, #"\u00e9"#, #"\u12"#, #"\u12G4"#, #"\uD800"#, #"\u+123"#,
                      #"\d\w\s\D\W\S"#, #"\b"#, #"[\b]"#, #"\1"#, #"\k<n>"#, #"\p{L}"#, #"\é"#, #"\."#, "\\", "a\\", "[\\",
                      "a{1000}", "a{0,1000}", "a{12345678}", nested(63), nested(64), "é+", "日本{2}", ".*", "a|", "|", "()",
                      "(?:)", "(?", "(?:", "[", "[]", "[^]", "a{1,2}+", "a{1,2}?", "[é-a]", "[a-é]", "a{2}{3}", "x{2,3}{", "(a)$",
                      "(a$", #"\$"#, "[$^]", "a|b|", "(a|(b|c))*", #"[\n-\r]"#, #"[\s-z]"#] {
            outputs("{\"regex\":\(JSONValue.quoted(regex))}")
            schema("{\"type\":\"string\",\"pattern\":\(JSONValue.quoted(regex))}")
        }
        // $ref: what it may name, and what it may not.
        for reference in ["#/$defs/a", "#/definitions/b", "#/$defs/none", "#/components/a", "#/$defs/a/b", "#", "",
                          "other.json#/$defs/a", "#/$defs/", "#/definitions/a", "#/$defs/a b"] {
            schema(##"{"$defs": {"a": {"type": "string"}, "": {}, "a b": {}}, "definitions": {"b": {}}, "type": "object", "properties": {"x": {"$ref": "##
                   + JSONValue.quoted(reference) + "}}}")
        }
        schema(##"{"$defs": "x", "$ref": "#/$defs/x"}"##)
        schema(##"{"$ref": "#/$defs/x", "$defs": {"x": {"type": "array", "items": {"$ref": "#/$defs/x"}}}}"##)
        // Nesting: 32 schemas deep, and 33.
        for depth in [32, 33] {
            schema(String(repeating: #"{"items":"#, count: depth) + "{}" + String(repeating: "}", count: depth))
        }
        // Size as PostgreSQL prints it: {"description": "…"} is 19 bytes around the text.
        for fill in [Int(JobContract.limits["schema_bytes"]!) - 19, Int(JobContract.limits["schema_bytes"]!) - 18] {
            schema("{\"description\":\"\(String(repeating: "d", count: fill))\"}")
        }
        return cases
    }

    /// Both sides give the same sentence, word for word, for every constraint case.
    @Test func constraintProblemsAreTheSameSentences() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            var disagreements: [String] = []
            var refused = 0
            for (label, job) in Self.constraintCorpus {
                // Scribe's "did you mean" hint on unknown fields is its own.
                let swift = JobContract.problem(job).map { $0.replacing(#/ \(did you mean .*\?\)$/#, with: "") }
                let sql = try connection.query("SELECT scribe.job_problem($1::text, NULL, $2::jsonb)", [job.prompt, job.paramsJSON]).scalar
                if swift != nil { refused += 1 }
                if swift != sql { disagreements.append("\(label):\n  Scribe:   \(swift ?? "accepts")\n  database: \(sql ?? "accepts")") }
            }
            #expect(disagreements.isEmpty, "\(disagreements.count) disagree:\n\(disagreements.joined(separator: "\n"))")
            #expect(refused > 60 && Self.constraintCorpus.count - refused > 20, "\(refused) of \(Self.constraintCorpus.count) refused")
        }
    }

    @Test func databaseAndScribeAgreeOnEveryCase() throws {
        let corpus = Self.corpus
        #expect(corpus.count >= 300)
        print("job contract corpus: \(corpus.count) cases, \(Self.constraintCorpus.count) of them structured output")
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            var disagreements: [String] = []
            var refused = 0
            for (label, job) in corpus {
                let swift = JobContract.problem(job)
                // A value jsonb cannot take (invalid JSON, NUL) is refused before any check runs.
                var sql: String?
                var refusedByCast = false
                do {
                    sql = try connection.query(
                        "SELECT scribe.job_problem($1::text, $2::jsonb, $3::jsonb, $4::int, $5::int, $6::text, $7::jsonb, $8::text)",
                        [job.prompt, job.messagesJSON, job.paramsJSON, job.maxAttempts, job.priority, job.model,
                         job.metadataJSON, job.callbackURL]).scalar
                } catch let error as PostgresError where error.reason == .query {
                    sql = error.message
                    refusedByCast = true
                }
                if sql != nil { refused += 1 }
                switch (swift, sql) {
                case (nil, nil): continue
                // Text Scribe cannot read as JSON (a number beyond a Double, 1e400) names no
                // field; it is refused all the same.
                case (let s?, let q?) where refusedByCast || s.contains("is not valid JSON") || JobContract.field(of: s) == JobContract.field(of: q):
                    continue
                default: disagreements.append("\(label): Scribe \(swift ?? "accepts"); the database \(sql ?? "accepts")")
                }
            }
            #expect(disagreements.isEmpty, "\(disagreements.count) of \(corpus.count) disagree:\n\(disagreements.joined(separator: "\n"))")
            // A corpus of edges: both kinds, in number.
            #expect(refused > 100 && corpus.count - refused > 100, "\(refused) of \(corpus.count) refused")
        }
    }

    /// The same corpus as OpenAI batch lines: a line `scribe batch submit` accepts becomes a
    /// job the INSERT accepts, so no line can make a whole batch's INSERT fail.
    @Test func everyBatchLineAcceptedIsAJobTheDatabaseAccepts() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            var accepted = 0, refused = 0
            var escapes: [String] = []
            for (label, job) in Self.corpus where job.maxAttempts == 3 && job.priority == 0 && job.model == nil
                && job.metadataJSON == nil && job.callbackURL == nil {
                guard case .object(var body)? = try? JSONValue.parse(utf8: job.paramsJSON.utf8) else { continue }
                let endpoint: BatchEndpoint
                if let prompt = job.prompt, job.messagesJSON == nil {
                    body["prompt"] = .string(prompt)
                    endpoint = .completions
                } else if let json = job.messagesJSON, job.prompt == nil, let messages = try? JSONValue.parse(utf8: json.utf8) {
                    body["messages"] = messages
                    endpoint = .chatCompletions
                } else {
                    continue
                }
                body["model"] = .string("smol")
                guard let line = try? BatchRequestBody.parse(body, endpoint: endpoint) else {
                    refused += 1
                    continue
                }
                accepted += 1
                let problem = try connection.query(
                    "SELECT scribe.job_problem($1::text, $2::jsonb, $3::jsonb)", [line.prompt, line.messagesJSON, line.paramsJSON]).scalar
                if let problem { escapes.append("\(label): the batch accepts it, the database says \(problem)") }
            }
            #expect(escapes.isEmpty, "\(escapes.joined(separator: "\n"))")
            #expect(accepted > 100 && refused > 100, "\(accepted) accepted, \(refused) refused")
        }
    }

    @Test func theLimitsAreTheSameNumbersOnBothSides() throws {
        try IsolatedDatabase.with { database in
            let json = try #require(try database.connect().query("SELECT scribe.job_limits()::text").scalar)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Double])
            #expect(object == JobContract.limits)
        }
    }

    @Test func insertRunsTheContract() throws {
        try IsolatedDatabase.with { database in
            let connection = try database.connect()
            for (columns, values, problem) in [
                ("prompt, params", "'x', '{\"n\": 1000000}'", "params.n must be an integer in [1, 16]"),
                ("prompt, params", "'x', '{\"seed\": -1}'", "params.seed must be an integer"),
                ("prompt, params", "'x', '{\"min_tokens\": 20}'", "params.min_tokens must be an integer in [0, max_tokens] (max_tokens is 16)"),
                ("messages", "'[{\"role\": \"user\", \"content\": [\"a\"]}]'", "messages[0].content must be a string"),
                ("prompt, params", "'x', '{\"temperature\": 1e400}'", "params.temperature must be a number in [0, 100]"),
                ("prompt, max_attempts", "'x', 2147483647", "max_attempts must be in [1, 100]"),
                ("prompt, params", "'x', '{\"n\": 16, \"max_tokens\": 8192, \"logprobs\": 20}'", "params: n × max_tokens × (1 + logprobs)"),
            ] {
                #expect {
                    try connection.query("INSERT INTO scribe.jobs (\(columns)) VALUES (\(values))")
                } throws: { error in
                    (error as? PostgresError)?.sqlState == "23514" && (error as? PostgresError)?.message.contains(problem) == true
                }
            }
            try connection.query("INSERT INTO scribe.jobs (prompt, params, max_attempts) VALUES ('x', '{\"n\": 16}', 100)")
        }
    }
}
