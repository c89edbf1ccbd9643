import ScribeCore
import Engine
import Foundation
import JobStore

/// One line of a batch's output or error file, as OpenAI writes them:
/// `{"id", "custom_id", "response": {"status_code": 200, "request_id", "body"}, "error": null}`
/// for a request that succeeded (the body a `chat.completion` or `text_completion`), and
/// `{"id", "custom_id", "response": null, "error": {"code", "message"}}` for the others.
public enum BatchOutputLine {
    /// What every line of one batch shares.
    public struct Context: Sendable {
        public var endpoint: BatchEndpoint
        /// Echoed as the response's `model`.
        public var model: String
        /// Tells an expired batch's stopped requests (`batch_expired`) from cancelled ones.
        public var batchStatus: BatchStatus?

        public init(endpoint: BatchEndpoint, model: String, batchStatus: BatchStatus?) {
            self.endpoint = endpoint
            self.model = model
            self.batchStatus = batchStatus
        }
    }

    public enum Kind: Sendable, Equatable { case output, error }

    /// The line for a finished request, and which file it belongs in.
    public static func render(_ row: BatchResultRow, context: Context) -> (kind: Kind, json: String) {
        let id: JSONValue = .string("batch_req_\(row.jobID)")
        guard row.status == .succeeded else {
            let (code, message) = error(of: row, batchStatus: context.batchStatus)
            let line: JSONValue = .object([
                "id": id, "custom_id": .string(row.customID), "response": .null,
                "error": .object(["code": .string(code), "message": .string(message)]),
            ])
            return (.error, line.jsonText)
        }
        let line: JSONValue = .object([
            "id": id, "custom_id": .string(row.customID), "error": .null,
            "response": .object([
                "status_code": .integer(200), "request_id": .string("req_\(row.jobID)"),
                "body": body(of: row, context: context),
            ]),
        ])
        return (.output, line.jsonText)
    }

    /// The error code and message of a request that did not succeed.
    static func error(of row: BatchResultRow, batchStatus: BatchStatus?) -> (code: String, message: String) {
        let stored = row.error ?? ""
        for code in ["batch_expired", "batch_cancelled"] where stored.hasPrefix(code + ": ") {
            return (code, String(stored.dropFirst(code.count + 2)))
        }
        switch row.status {
        case .cancelled:
            switch batchStatus {
            case .expired?:
                return ("batch_expired", "the batch's completion window ended before this request finished")
            case .cancelling?, .cancelled?:
                return ("batch_cancelled", "the batch was cancelled before this request finished")
            default:
                return ("request_cancelled", stored.isEmpty ? "the request was cancelled" : stored)
            }
        default:
            return ("request_failed", stored.isEmpty ? "the request failed" : stored)
        }
    }

    static func body(of row: BatchResultRow, context: Context) -> JSONValue {
        let choices = storedChoices(of: row)
        let chat = context.endpoint == .chatCompletions
        let prompt = Int64(row.promptTokens ?? 0), completion = Int64(row.completionTokens ?? 0)
        return .object([
            "id": .string((chat ? "chatcmpl-" : "cmpl-") + "\(row.jobID)"),
            "object": .string(chat ? "chat.completion" : "text_completion"),
            "created": .integer(row.finishedAt ?? 0),
            "model": .string(context.model),
            "choices": .array(choices.map { chat ? chatChoice($0) : completionChoice($0) }),
            "usage": .object([
                "prompt_tokens": .integer(prompt), "completion_tokens": .integer(completion),
                "total_tokens": .integer(prompt + completion),
            ]),
        ])
    }

    /// Every completion: the `choices` column when the job stored one, else its result.
    static func storedChoices(of row: BatchResultRow) -> [JobChoice] {
        if let json = row.choicesJSON, let choices = JobChoice.stored(json), !choices.isEmpty {
            return choices
        }
        return [JobChoice(index: 0, text: row.result ?? "", finishReason: row.finishReason ?? "stop")]
    }

    /// OpenAI's finish reasons are `stop` and `length` here; a succeeded job has no other.
    static func finishReason(_ choice: JobChoice) -> JSONValue {
        .string(choice.finishReason == "length" ? "length" : "stop")
    }

    static func chatChoice(_ choice: JobChoice) -> JSONValue {
        let logprobs: JSONValue = choice.logprobs.map { tokens in
            .object([
                "content": .array(tokens.map { token in
                    .object([
                        "token": .string(token.token), "logprob": .number(token.logprob), "bytes": bytes(token.bytes),
                        "top_logprobs": .array(token.topLogprobs.map {
                            .object(["token": .string($0.token), "logprob": .number($0.logprob), "bytes": bytes($0.bytes)])
                        }),
                    ])
                }),
                "refusal": .null,
            ])
        } ?? .null
        return withChoiceProbabilities(choice, [
            "index": .integer(Int64(choice.index)),
            "message": .object(["role": .string("assistant"), "content": .string(choice.text), "refusal": .null]),
            "logprobs": logprobs,
            "finish_reason": finishReason(choice),
        ])
    }

    /// The legacy completions logprobs: parallel arrays, `top_logprobs` as token → logprob
    /// objects, `text_offset` counting characters from the start of the completion.
    static func completionChoice(_ choice: JobChoice) -> JSONValue {
        let logprobs: JSONValue = choice.logprobs.map { tokens in
            var offsets: [JSONValue] = []
            var offset = 0
            for token in tokens {
                offsets.append(.integer(Int64(offset)))
                offset += token.token.unicodeScalars.count
            }
            return .object([
                "tokens": .array(tokens.map { .string($0.token) }),
                "token_logprobs": .array(tokens.map { .number($0.logprob) }),
                "top_logprobs": .array(tokens.map { token in
                    .object(Dictionary(token.topLogprobs.map { ($0.token, JSONValue.number($0.logprob)) },
                                       uniquingKeysWith: { first, _ in first }))
                }),
                "text_offset": .array(offsets),
            ])
        } ?? .null
        return withChoiceProbabilities(choice, [
            "index": .integer(Int64(choice.index)),
            "text": .string(choice.text),
            "logprobs": logprobs,
            "finish_reason": finishReason(choice),
        ])
    }

    /// Scribe's one addition to a choice, for `choice_logprobs`: `choice_probabilities`,
    /// `[{"choice", "probability", "logprob"}]` (OpenAI's clients keep unknown fields).
    static func withChoiceProbabilities(_ choice: JobChoice, _ object: [String: JSONValue]) -> JSONValue {
        var object = object
        if let scores = choice.choiceProbabilities { object["choice_probabilities"] = try? JSONValue(encoding: scores) }
        return .object(object)
    }

    static func bytes(_ bytes: [UInt8]) -> JSONValue {
        .array(bytes.map { .integer(Int64($0)) })
    }
}
