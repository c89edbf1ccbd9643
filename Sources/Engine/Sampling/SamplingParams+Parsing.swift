import ScribeCore
import Foundation
import Inference
import Constraints

extension SamplingParams {
    /// Parses a JSON object such as a job's `params` column or the fields of a JSONL line.
    ///
    /// - Parameters:
    ///   - ignoring: further keys that are allowed and skipped (the job layer's `model`, `prompt`, …).
    ///   - fieldPrefix: put before field names in messages (`params.top_p`); `""` for top-level fields.
    /// - Throws: ``SamplingParamsError`` naming the field for unknown fields, wrong types,
    ///   out-of-range values and text that is not a JSON object. `null` means the default.
    public static func parse(
        json: String, ignoring: Set<String> = [], fieldPrefix: String = "params."
    ) throws(SamplingParamsError) -> SamplingParams {
        try parse(try value(json: json, fieldPrefix: fieldPrefix), ignoring: ignoring, fieldPrefix: fieldPrefix)
    }

    /// Parameters' JSON text as a value; text that is not JSON is refused naming the member
    /// at fault when there is one (`params.temperature is not valid JSON: number 1e400 is
    /// out of range …`).
    public static func value(json: String, fieldPrefix: String = "params.") throws(SamplingParamsError) -> JSONValue {
        do {
            return try JSONValue.parse(json)
        } catch {
            let field = error.field(prefix: fieldPrefix) ?? whole(fieldPrefix)
            throw SamplingParamsError(field: field, message: "\(field) is not valid JSON: \(error)")
        }
    }

    /// Parses an already-decoded JSON value, which must be an object.
    public static func parse(
        _ value: JSONValue, ignoring: Set<String> = [], fieldPrefix: String = "params."
    ) throws(SamplingParamsError) -> SamplingParams {
        guard case .object(let object) = value else {
            throw SamplingParamsError(
                field: whole(fieldPrefix), message: "\(whole(fieldPrefix)) must be a JSON object, got \(value.summary)")
        }
        return try parse(object: object, ignoring: ignoring, fieldPrefix: fieldPrefix)
    }

    /// Parses the fields of a decoded JSON object.
    public static func parse(
        object: [String: JSONValue], ignoring: Set<String> = [], fieldPrefix: String = "params."
    ) throws(SamplingParamsError) -> SamplingParams {
        let known = Set(fieldNames)
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) && !ignoring.contains($0) }) {
            var message = "unknown field \(fieldPrefix)\(unknown)"
            if unknown.count >= 4, let near = fieldNames.first(where: { editDistance($0, unknown) <= 2 }) {
                message += " (did you mean \(fieldPrefix)\(near)?)"
            }
            throw SamplingParamsError(field: fieldPrefix + unknown, message: message)
        }
        let r = FieldReader(object: object, prefix: fieldPrefix)
        var p = SamplingParams()
        let c = JobContract.self
        p.temperature = try r.number("temperature", p.temperature, "a number in [0, \(Int(c.maxTemperature))]") {
            $0 >= 0 && $0 <= c.maxTemperature
        }
        if let k = try r.integer("top_k", "-1, 0 (off) or an integer >= 1", { $0 >= -1 && $0 <= c.maxTokenID }) { p.topK = max(k, 0) }
        p.topP = try r.number("top_p", p.topP, "a number in (0, 1]") { $0 > 0 && $0 <= 1 }
        p.minP = try r.number("min_p", p.minP, "a number in [0, 1]") { $0 >= 0 && $0 <= 1 }
        p.repetitionPenalty = try r.number(
            "repetition_penalty", p.repetitionPenalty, "a number in (0, \(Int(c.maxRepetitionPenalty))]"
        ) { $0 > 0 && $0 <= c.maxRepetitionPenalty }
        p.presencePenalty = try r.number("presence_penalty", p.presencePenalty, "a number in [-2, 2]") { abs($0) <= 2 }
        p.frequencyPenalty = try r.number("frequency_penalty", p.frequencyPenalty, "a number in [-2, 2]") { abs($0) <= 2 }
        p.seed = try r.seed()
        p.stop = try r.stopStrings()
        p.stopTokenIDs = try r.tokenIDs("stop_token_ids", max: maxStopTokenIDs)
        p.maxTokens = try r.integer("max_tokens", "an integer in [1, \(c.maxMaxTokens)]", { $0 >= 1 && $0 <= c.maxMaxTokens })
            ?? p.maxTokens
        let maxTokens = p.maxTokens
        p.minTokens = try r.integer(
            "min_tokens", "an integer in [0, max_tokens] (max_tokens is \(maxTokens))", { $0 >= 0 && $0 <= maxTokens }
        ) ?? p.minTokens
        p.ignoreEOS = try r.bool("ignore_eos") ?? p.ignoreEOS
        p.logitBias = try r.logitBias()
        p.logprobs = try r.integer("logprobs", "an integer in [0, \(maxLogprobs)] or null", { $0 >= 0 && $0 <= maxLogprobs })
        p.n = try r.integer("n", "an integer in [1, \(maxN)]", { $0 >= 1 && $0 <= maxN }) ?? p.n
        do {
            p.constraint = try OutputConstraint.parse(
                responseFormat: object["response_format"], structuredOutputs: object["structured_outputs"], prefix: fieldPrefix)
        } catch {
            throw SamplingParamsError(field: error.field, message: error.message)
        }
        // Under a constraint the output ends where the constraint is complete, nowhere else.
        if let constraint = p.constraint {
            for (name, given) in [("ignore_eos", p.ignoreEOS), ("min_tokens", p.minTokens > 0)] where given {
                throw SamplingParamsError(
                    field: fieldPrefix + name,
                    message: "\(fieldPrefix)\(name) cannot be used with \(constraint.field): the constraint decides where the output ends")
            }
        }
        p.choiceLogprobs = try r.bool("choice_logprobs") ?? false
        if p.choiceLogprobs {
            let field = fieldPrefix + "choice_logprobs"
            guard case .choice(let choices)? = p.constraint?.kind else {
                throw SamplingParamsError(field: field, message: "\(field) needs a choice constraint (\(fieldPrefix)structured_outputs.choice)")
            }
            guard p.n == 1 else {
                throw SamplingParamsError(field: field, message: "\(field) needs n = 1: the choices are scored, not drawn")
            }
            guard Set(choices).count == choices.count else {
                throw SamplingParamsError(field: field, message: "\(field) needs distinct choices")
            }
        }
        return p
    }

    private static func whole(_ prefix: String) -> String {
        prefix.hasSuffix(".") ? String(prefix.dropLast()) : (prefix.isEmpty ? "sampling parameters" : prefix)
    }

    /// Levenshtein distance, for "did you mean" hints on short field names.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var diagonal = row[0]
            row[0] = i
            for j in 1...b.count {
                let above = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1))
                diagonal = above
            }
        }
        return row[b.count]
    }
}

/// Reads typed fields out of a JSON object, throwing messages that name them.
private struct FieldReader {
    let object: [String: JSONValue]
    let prefix: String

    /// The value, or `nil` when absent or `null` (both mean the default).
    func value(_ name: String) -> JSONValue? {
        guard let v = object[name], v != .null else { return nil }
        return v
    }

    func fail(_ name: String, _ expectation: String, _ got: JSONValue) -> SamplingParamsError {
        SamplingParamsError(field: prefix + name, message: "\(prefix)\(name) must be \(expectation), got \(got.summary)")
    }

    func number(_ name: String, _ fallback: Double, _ expectation: String, _ valid: (Double) -> Bool) throws(SamplingParamsError) -> Double {
        guard let v = value(name) else { return fallback }
        guard let x = v.doubleValue, x.isFinite, valid(x) else { throw fail(name, expectation, v) }
        return x
    }

    func integer(_ name: String, _ expectation: String, _ valid: (Int) -> Bool) throws(SamplingParamsError) -> Int? {
        guard let v = value(name) else { return nil }
        guard let i = v.intValue, valid(i) else { throw fail(name, expectation, v) }
        return i
    }

    func bool(_ name: String) throws(SamplingParamsError) -> Bool? {
        guard let v = value(name) else { return nil }
        guard case .bool(let b) = v else { throw fail(name, "true or false", v) }
        return b
    }

    func seed() throws(SamplingParamsError) -> UInt64? {
        guard let v = value("seed") else { return nil }
        switch v {
        case .integer(let i) where i >= 0: return UInt64(i)
        case .unsignedInteger(let u): return u
        case .number(let x) where x >= 0 && x < 0x1p64 && x.rounded() == x: return UInt64(x)
        default: throw fail("seed", "an integer in [0, \(UInt64.max)] or null", v)
        }
    }

    func stopStrings() throws(SamplingParamsError) -> [String] {
        guard let v = value("stop") else { return [] }
        let items: [JSONValue]
        switch v {
        case .string: items = [v]
        case .array(let a): items = a
        default: throw fail("stop", "a string or an array of strings", v)
        }
        guard items.count <= SamplingParams.maxStopStrings else {
            throw SamplingParamsError(
                field: prefix + "stop",
                message: "\(prefix)stop has \(items.count) strings; at most \(SamplingParams.maxStopStrings) are allowed")
        }
        var strings: [String] = []
        for (i, item) in items.enumerated() {
            let name = v == item ? "stop" : "stop[\(i)]"
            guard case .string(let s) = item, !s.isEmpty else { throw fail(name, "a non-empty string", item) }
            guard s.utf8.count <= SamplingParams.maxStopStringBytes else {
                throw SamplingParamsError(
                    field: prefix + name,
                    message: "\(prefix)\(name) is \(s.utf8.count) bytes long; at most \(SamplingParams.maxStopStringBytes) are allowed")
            }
            strings.append(s)
        }
        return strings
    }

    func tokenIDs(_ name: String, max: Int) throws(SamplingParamsError) -> [TokenID] {
        guard let v = value(name) else { return [] }
        guard case .array(let items) = v else { throw fail(name, "an array of token ids", v) }
        guard items.count <= max else {
            throw SamplingParamsError(
                field: prefix + name, message: "\(prefix)\(name) has \(items.count) entries; at most \(max) are allowed")
        }
        var ids: [TokenID] = []
        for (i, item) in items.enumerated() {
            guard let n = item.intValue, let id = TokenID(exactly: n), id >= 0 else {
                throw fail("\(name)[\(i)]", "a token id (an integer >= 0)", item)
            }
            ids.append(id)
        }
        return ids
    }

    func logitBias() throws(SamplingParamsError) -> [TokenID: Double] {
        guard let v = value("logit_bias") else { return [:] }
        guard case .object(let entries) = v else { throw fail("logit_bias", "an object mapping token ids to numbers", v) }
        guard entries.count <= SamplingParams.maxLogitBiasEntries else {
            throw SamplingParamsError(
                field: prefix + "logit_bias",
                message: "\(prefix)logit_bias has \(entries.count) entries; at most \(SamplingParams.maxLogitBiasEntries) are allowed")
        }
        var bias: [TokenID: Double] = [:]
        for key in entries.keys.sorted() {
            // Only plain decimal digits: "+5", " 5" and "5.0" are not token ids.
            guard key.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let id = TokenID(key) else {
                throw SamplingParamsError(
                    field: prefix + "logit_bias",
                    message: "\(prefix)logit_bias key \"\(key)\" must be a token id (an integer >= 0)")
            }
            let item = entries[key]!
            guard let b = item.doubleValue, b >= -100, b <= 100 else {
                throw fail("logit_bias[\"\(key)\"]", "a number in [-100, 100]", item)
            }
            bias[id] = b
        }
        return bias
    }
}
