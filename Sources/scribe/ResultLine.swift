import ScribeCore
import Engine
import Foundation
import Inference

/// The JSON of one output line of `scribe generate --input`.
enum ResultLine {
    static func encode(_ result: GenerationResult, id: JSONValue, line: Int) -> String {
        switch result.outcome {
        case .failure(let error):
            return self.error(id: id, line: line, message: error.description)
        case .success(let completions):
            var object: [String: JSONValue] = [
                "id": id,
                "text": .string(completions[0].text),
                "token_ids": .array(completions[0].tokenIDs.map { .integer(Int64($0)) }),
                "finish_reason": .string(completions[0].finishReason.rawValue),
                "usage": .object([
                    "prompt_tokens": .integer(Int64(result.promptTokens)),
                    "completion_tokens": .integer(Int64(result.completionTokens)),
                    "cached_prompt_tokens": .integer(Int64(result.cachedPromptTokens)),
                ]),
            ]
            if let logprobs = completions[0].logprobs { object["logprobs"] = encode(logprobs) }
            if let scores = completions[0].choiceScores { object["choice_probabilities"] = try? JSONValue(encoding: scores) }
            if completions.count > 1 {
                object["choices"] = .array(completions.map { completion in
                    var choice: [String: JSONValue] = [
                        "index": .integer(Int64(completion.index)),
                        "text": .string(completion.text),
                        "token_ids": .array(completion.tokenIDs.map { .integer(Int64($0)) }),
                        "finish_reason": .string(completion.finishReason.rawValue),
                    ]
                    if let logprobs = completion.logprobs { choice["logprobs"] = encode(logprobs) }
                    return .object(choice)
                })
            }
            return json(.object(object))
        }
    }

    static func error(id: JSONValue, line: Int, message: String) -> String {
        json(.object(["id": id, "line": .integer(Int64(line)), "error": .string(message)]))
    }

    private static func encode(_ logprobs: [SampledToken]) -> JSONValue {
        .array(logprobs.map { sample in
            .object([
                "token": .integer(Int64(sample.token)),
                "logprob": .number(Double(sample.logprob ?? 0)),
                "top_logprobs": .array(sample.topLogprobs.map {
                    .object(["token": .integer(Int64($0.token)), "logprob": .number(Double($0.logprob))])
                }),
            ])
        })
    }

    static func json(_ value: JSONValue) -> String { value.jsonText }
}
