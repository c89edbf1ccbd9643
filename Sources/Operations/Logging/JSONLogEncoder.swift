import ScribeCore
import Logging

/// `{"ts":"…","level":"info","msg":"Job finished","logger":"scribe.worker","job.id":"42"}`:
/// keys in the same order as logfmt, metadata keys kept dotted (not nested), integers,
/// finite doubles and booleans passed as `stringConvertible` written as JSON numbers.
enum JSONLogEncoder {
    static func encode(_ record: LogRecord) -> String {
        var line = "{"
        line.reserveCapacity(160)
        appendMember(&line, "ts", first: true) { JSONValue.appendString(record.timestamp, to: &$0) }
        appendMember(&line, "level") { JSONValue.appendString(record.level.rawValue, to: &$0) }
        appendMember(&line, "msg") { JSONValue.appendString(record.message, to: &$0) }
        appendMember(&line, "logger") { JSONValue.appendString(record.label, to: &$0) }
        for (key, value) in record.flattenedMetadata {
            appendMember(&line, key) { appendValue(&$0, value) }
        }
        if let error = record.error {
            appendMember(&line, "error") { JSONValue.appendString(error, to: &$0) }
        }
        return line + "}"
    }

    private static func appendMember(
        _ line: inout String, _ key: String, first: Bool = false, _ value: (inout String) -> Void
    ) {
        if !first { line += "," }
        JSONValue.appendString(key, to: &line)
        line += ":"
        value(&line)
    }

    static func appendValue(_ line: inout String, _ value: Logger.MetadataValue) {
        switch value {
        case .string(let string):
            JSONValue.appendString(string, to: &line)
        case .stringConvertible(let convertible):
            if let number = jsonNumber(convertible) {
                line += number
            } else {
                JSONValue.appendString(convertible.description, to: &line)
            }
        case .array(let values):
            line += "["
            for (index, element) in values.enumerated() {
                if index > 0 { line += "," }
                appendValue(&line, element)
            }
            line += "]"
        case .dictionary(let dictionary):
            line += "{"
            for (index, (key, element)) in dictionary.sorted(by: { $0.key < $1.key }).enumerated() {
                appendMember(&line, key, first: index == 0) { appendValue(&$0, element) }
            }
            line += "}"
        }
    }

    /// Numbers stay numbers for JSON consumers; anything else (and NaN, ±∞) is a string.
    private static func jsonNumber(_ value: any CustomStringConvertible & Sendable) -> String? {
        switch value {
        case let bool as Bool: return bool ? "true" : "false"
        case let integer as any BinaryInteger: return integer.description
        case let double as Double: return double.isFinite ? double.description : nil
        case let float as Float: return float.isFinite ? float.description : nil
        default: return nil
        }
    }

}
