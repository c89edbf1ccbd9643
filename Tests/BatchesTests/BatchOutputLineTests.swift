import Batches
import Foundation
import JobStore
import ScribeCore
import Testing
import TestSupport

/// Output and error lines, checked field by field and by the `openai` package's types.
@Suite struct BatchOutputLineTests {
    static let chat = BatchOutputLine.Context(endpoint: .chatCompletions, model: "smol", batchStatus: .completed)
    static let completions = BatchOutputLine.Context(endpoint: .completions, model: "smol", batchStatus: .completed)

    static func choices(_ choices: [JobChoice]) throws -> String {
        String(decoding: try JSONEncoder().encode(choices), as: UTF8.self)
    }

    static let twoChoicesWithLogprobs: [JobChoice] = [
        JobChoice(index: 0, text: "Hi there", finishReason: "stop", logprobs: [
            .init(token: "Hi", bytes: Array("Hi".utf8), logprob: -0.25, topLogprobs: [
                .init(token: "Hi", bytes: Array("Hi".utf8), logprob: -0.25),
                .init(token: "Hello", bytes: Array("Hello".utf8), logprob: -1.5),
            ]),
            .init(token: " there", bytes: Array(" there".utf8), logprob: -0.5, topLogprobs: [
                .init(token: " there", bytes: Array(" there".utf8), logprob: -0.5),
                .init(token: "\u{FFFD}", bytes: [0xE2, 0x80], logprob: -3),
            ]),
        ]),
        JobChoice(index: 1, text: "Hello", finishReason: "length", logprobs: [
            .init(token: "Hello", bytes: Array("Hello".utf8), logprob: -1.5, topLogprobs: []),
        ]),
    ]

    static let scoredChoice = JobChoice(index: 0, text: "yes", finishReason: "stop", choiceProbabilities: [
        .init(choice: "yes", probability: 0.75, logprob: -1.25), .init(choice: "no", probability: 0.25, logprob: -2.35),
    ])

    /// `choice_logprobs` results carry `choice_probabilities` in the stored choices and in
    /// each endpoint's choice.
    @Test func choiceProbabilitiesSurviveStorageAndRendering() throws {
        let stored = try Self.choices([Self.scoredChoice])
        #expect(JobChoice.stored(stored) == [Self.scoredChoice])
        for context in [Self.chat, Self.completions] {
            let row = BatchResultRow(jobID: 9, customID: "s", status: .succeeded, result: "yes", finishReason: "stop",
                                     promptTokens: 5, completionTokens: 1, choicesJSON: stored)
            let body = try #require((try Self.object(BatchOutputLine.render(row, context: context).json)["response"] as? [String: Any])?["body"] as? [String: Any])
            let choice = try #require((body["choices"] as? [[String: Any]])?.first)
            let scores = try #require(choice["choice_probabilities"] as? [[String: Any]])
            #expect(scores.map { $0["choice"] as? String } == ["yes", "no"])
            #expect(scores.map { $0["probability"] as? Double } == [0.75, 0.25])
        }
    }

    static func object(_ json: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func aChatResultIsAChatCompletionWithEveryChoice() throws {
        let row = BatchResultRow(
            jobID: 7, customID: "q1", status: .succeeded, result: "Hi there", finishReason: "stop", promptTokens: 5,
            completionTokens: 3, choicesJSON: try Self.choices(Self.twoChoicesWithLogprobs), finishedAt: 1_700_000_000)
        let (kind, json) = BatchOutputLine.render(row, context: Self.chat)
        #expect(kind == .output)
        let line = try Self.object(json)
        #expect(line["id"] as? String == "batch_req_7" && line["custom_id"] as? String == "q1")
        #expect(line["error"] is NSNull)
        let response = try #require(line["response"] as? [String: Any])
        #expect(response["status_code"] as? Int == 200)
        let body = try #require(response["body"] as? [String: Any])
        #expect(body["object"] as? String == "chat.completion" && body["model"] as? String == "smol")
        #expect(body["created"] as? Int == 1_700_000_000)
        let choices = try #require(body["choices"] as? [[String: Any]])
        #expect(choices.count == 2)
        #expect((choices[0]["message"] as? [String: Any])?["content"] as? String == "Hi there")
        #expect(choices[1]["finish_reason"] as? String == "length")
        let content = try #require((choices[0]["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
        #expect(content.map { $0["token"] as? String } == ["Hi", " there"])
        #expect((content[1]["top_logprobs"] as? [[String: Any]])?[1]["bytes"] as? [Int] == [0xE2, 0x80])
        let usage = try #require(body["usage"] as? [String: Any])
        #expect(usage["total_tokens"] as? Int == 8)
    }

    @Test func aCompletionResultUsesTheLegacyLogprobsShape() throws {
        let row = BatchResultRow(
            jobID: 8, customID: "c", status: .succeeded, result: "Hi there", finishReason: "stop", promptTokens: 2,
            completionTokens: 2, choicesJSON: try Self.choices(Array(Self.twoChoicesWithLogprobs.prefix(1))))
        let body = try #require((try Self.object(BatchOutputLine.render(row, context: Self.completions).json)["response"]
            as? [String: Any])?["body"] as? [String: Any])
        #expect(body["object"] as? String == "text_completion")
        let choice = try #require((body["choices"] as? [[String: Any]])?.first)
        #expect(choice["text"] as? String == "Hi there")
        let logprobs = try #require(choice["logprobs"] as? [String: Any])
        #expect(logprobs["tokens"] as? [String] == ["Hi", " there"])
        #expect(logprobs["text_offset"] as? [Int] == [0, 2])
        #expect((logprobs["top_logprobs"] as? [[String: Double]])?[0] == ["Hi": -0.25, "Hello": -1.5])
    }

    @Test func aPlainResultHasOneChoiceWithoutLogprobs() throws {
        let row = BatchResultRow(jobID: 9, customID: "p", status: .succeeded, result: "text", finishReason: "length",
                                 promptTokens: 1, completionTokens: 4)
        let body = try #require((try Self.object(BatchOutputLine.render(row, context: Self.chat).json)["response"]
            as? [String: Any])?["body"] as? [String: Any])
        let choices = try #require(body["choices"] as? [[String: Any]])
        #expect(choices.count == 1 && choices[0]["logprobs"] is NSNull && choices[0]["finish_reason"] as? String == "length")
    }

    @Test func requestsThatDidNotSucceedBecomeErrorLinesWithACode() throws {
        func code(_ row: BatchResultRow, _ status: BatchStatus) throws -> (String?, String?) {
            let context = BatchOutputLine.Context(endpoint: .chatCompletions, model: "m", batchStatus: status)
            let (kind, json) = BatchOutputLine.render(row, context: context)
            #expect(kind == .error)
            let line = try Self.object(json)
            #expect(line["response"] is NSNull)
            let error = line["error"] as? [String: Any]
            return (error?["code"] as? String, error?["message"] as? String)
        }
        let queuedThenExpired = BatchResultRow(jobID: 1, customID: "a", status: .cancelled,
                                               error: "batch_expired: the window ended")
        #expect(try code(queuedThenExpired, .expired) == ("batch_expired", "the window ended"))
        let stoppedRunning = BatchResultRow(jobID: 2, customID: "b", status: .cancelled, result: "partial")
        #expect(try code(stoppedRunning, .expired).0 == "batch_expired")
        #expect(try code(stoppedRunning, .cancelled).0 == "batch_cancelled")
        #expect(try code(stoppedRunning, .completed).0 == "request_cancelled")
        let failed = BatchResultRow(jobID: 3, customID: "c", status: .failed, error: "params.logit_bias key \"99999\" is not a token id")
        #expect(try code(failed, .completed) == ("request_failed", "params.logit_bias key \"99999\" is not a token id"))
    }

    /// The `openai` package (pinned in Ops/setup) parses every kind of line we write, and
    /// refuses a line that breaks its types (so the check can fail).
    @Test func theOpenAIPackageParsesEveryKindOfLine() throws {
        let rows: [(BatchResultRow, BatchOutputLine.Context)] = [
            (BatchResultRow(jobID: 1, customID: "chat-n2", status: .succeeded, result: "Hi there", finishReason: "stop",
                            promptTokens: 5, completionTokens: 3, choicesJSON: try Self.choices(Self.twoChoicesWithLogprobs),
                            finishedAt: 1_700_000_000), Self.chat),
            (BatchResultRow(jobID: 2, customID: "chat", status: .succeeded, result: "x", finishReason: "length",
                            promptTokens: 1, completionTokens: 1), Self.chat),
            (BatchResultRow(jobID: 3, customID: "cmpl-n2", status: .succeeded, result: "Hi there", finishReason: "stop",
                            promptTokens: 5, completionTokens: 3, choicesJSON: try Self.choices(Self.twoChoicesWithLogprobs)),
             Self.completions),
            (BatchResultRow(jobID: 4, customID: "cmpl", status: .succeeded, result: "", finishReason: "stop",
                            promptTokens: 1, completionTokens: 0), Self.completions),
            (BatchResultRow(jobID: 5, customID: "expired", status: .cancelled), Self.chat),
            (BatchResultRow(jobID: 6, customID: "failed", status: .failed, error: "bad"), Self.completions),
            (BatchResultRow(jobID: 7, customID: "scored", status: .succeeded, result: "yes", finishReason: "stop",
                            promptTokens: 5, completionTokens: 1, choicesJSON: try Self.choices([Self.scoredChoice])), Self.chat),
        ]
        let lines = rows.map { BatchOutputLine.render($0.0, context: $0.1).json }.joined(separator: "\n") + "\n"
        let result = try OpenAIBatchCheck.run(lines: lines)
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("ok: 7 lines"))

        let broken = lines.replacingOccurrences(of: #""finish_reason":"length""#, with: #""finish_reason":"cancelled""#)
        let refused = try OpenAIBatchCheck.run(lines: broken)
        #expect(refused.status == 1, "\(refused.standardOutput)")
        #expect(refused.standardOutput.contains("ValidationError"))
    }
}
