import ScribeCore
import Engine
import JobStore

/// An OpenAI Batch API input file, checked whole before anything is enqueued: every line
/// `{"custom_id", "method": "POST", "url", "body"}`, one endpoint and one model for the
/// file, no `custom_id` twice. Pure: bytes in, requests or every problem out.
public struct BatchFile: Sendable, Equatable {
    public var endpoint: BatchEndpoint
    /// The model the lines name (all the same), nil when none does.
    public var model: String?
    public var requests: [BatchJobInput]

    /// Why a file was refused: one entry per problem, in line order.
    public struct Refusal: Error, Sendable, Equatable {
        public var errors: [BatchFileError]
        /// The endpoint of the first good line, for the record of the refusal.
        public var endpoint: BatchEndpoint?
    }

    static let lineKeys: Set<String> = ["custom_id", "method", "url", "body"]

    /// Reads the file's lines (`\n` or `\r\n`; blank lines are skipped).
    public static func parse(_ bytes: [UInt8]) -> Result<BatchFile, Refusal> {
        var errors: [BatchFileError] = []
        var requests: [BatchJobInput] = []
        var seen: [String: Int] = [:]  // custom_id -> line
        var endpoint: (BatchEndpoint, line: Int)?
        var model: (String, line: Int)?
        var lineNumber = 0
        var start = 0
        var compiled: Set<String> = []  // constraints already compiled for earlier lines
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var last = end
            if last > start && bytes[last - 1] == UInt8(ascii: "\r") { last -= 1 }
            let line = bytes[start..<last]
            start = end + 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            do throws(LineProblem) {
                let (request, lineEndpoint, lineModel) = try parseLine(line, compiled: &compiled)
                if let first = seen[request.customID] {
                    throw LineProblem("duplicate_custom_id", "custom_id \"\(request.customID)\" is already used on line \(first)",
                                      param: "custom_id")
                }
                seen[request.customID] = lineNumber
                if let (first, firstLine) = endpoint, first != lineEndpoint {
                    throw LineProblem("mismatched_url", "url \(lineEndpoint.rawValue) differs from line \(firstLine)'s \(first.rawValue); a batch has one endpoint",
                                      param: "url")
                }
                if endpoint == nil { endpoint = (lineEndpoint, lineNumber) }
                if let lineModel {
                    if let (first, firstLine) = model, first != lineModel {
                        throw LineProblem("mismatched_model", "body.model \"\(lineModel)\" differs from line \(firstLine)'s \"\(first)\"; a batch has one model",
                                          param: "body.model")
                    }
                    if model == nil { model = (lineModel, lineNumber) }
                }
                requests.append(request)
            } catch {
                errors.append(BatchFileError(code: error.code, line: lineNumber, message: error.message, param: error.param))
            }
        }
        if errors.isEmpty, requests.isEmpty {
            errors.append(BatchFileError(code: "empty_file", line: nil, message: "the file has no requests"))
        }
        guard errors.isEmpty, let endpoint else { return .failure(Refusal(errors: errors, endpoint: endpoint?.0)) }
        return .success(BatchFile(endpoint: endpoint.0, model: model?.0, requests: requests))
    }

    struct LineProblem: Error {
        var code: String
        var message: String
        var param: String?

        init(_ code: String, _ message: String, param: String? = nil) {
            self.code = code
            self.message = message
            self.param = param
        }
    }

    static func parseLine(_ line: ArraySlice<UInt8>, compiled: inout Set<String>) throws(LineProblem)
        -> (BatchJobInput, BatchEndpoint, String?)
    {
        let value: JSONValue
        do {
            value = try JSONValue.parse(utf8: line)
        } catch {
            throw LineProblem("invalid_json", "the line is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw LineProblem("invalid_json", "the line must be a JSON object, got \(value.summary)")
        }
        if let unknown = object.keys.sorted().first(where: { !lineKeys.contains($0) }) {
            throw LineProblem("invalid_request", "unknown field \(unknown) (a line has custom_id, method, url and body)",
                              param: unknown)
        }
        guard let customValue = object["custom_id"], customValue != .null else {
            throw LineProblem("missing_custom_id", "custom_id is missing", param: "custom_id")
        }
        guard case .string(let customID) = customValue, !customID.isEmpty else {
            throw LineProblem("invalid_custom_id", "custom_id must be a non-empty string, got \(customValue.summary)",
                              param: "custom_id")
        }
        guard let method = object["method"], method != .null else {
            throw LineProblem("missing_method", "method is missing (it must be \"POST\")", param: "method")
        }
        guard method == .string("POST") else {
            throw LineProblem("invalid_method", "method must be \"POST\", got \(method.summary)", param: "method")
        }
        guard let url = object["url"], url != .null else {
            throw LineProblem("missing_url", "url is missing", param: "url")
        }
        guard case .string(let path) = url, let endpoint = BatchEndpoint(rawValue: path) else {
            throw LineProblem("invalid_url", "url must be /v1/chat/completions or /v1/completions, got \(url.summary)",
                              param: "url")
        }
        guard let bodyValue = object["body"], bodyValue != .null else {
            throw LineProblem("missing_body", "body is missing", param: "body")
        }
        guard case .object(let body) = bodyValue else {
            throw LineProblem("invalid_body", "body must be a JSON object, got \(bodyValue.summary)", param: "body")
        }
        let mapped: BatchRequestBody
        do {
            mapped = try BatchRequestBody.parse(body, endpoint: endpoint, compiled: &compiled)
        } catch {
            throw LineProblem("invalid_request", error.message, param: error.param)
        }
        let request = BatchJobInput(
            customID: customID, prompt: mapped.prompt, messagesJSON: mapped.messagesJSON, paramsJSON: mapped.paramsJSON)
        return (request, endpoint, mapped.model)
    }
}
