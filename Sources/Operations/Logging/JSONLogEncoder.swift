import Logging

/// `{"ts":"…","level":"info","msg":"Job finished","logger":"scribe.worker","job.id":"42"}`:
/// keys in the same order as logfmt, metadata keys kept dotted (not nested), integers,
/// finite doubles and booleans passed as `stringConvertible` written as JSON numbers.
enum JSONLogEncoder {
    static func encode(_ record: LogRecord) -> String {
        var line = "{"
        line.reserveCapacity(160)
        appendMember(&line, "ts", first: true) { appendString(&$0, record.timestamp) }
        appendMember(&line, "level") { appendString(&$0, record.level.rawValue) }
        appendMember(&line, "msg") { appendString(&$0, record.message) }
        appendMember(&line, "logger") { appendString(&$0, record.label) }
        for (key, value) in record.flattenedMetadata {
            appendMember(&line, key) { appendValue(&$0, value) }
        }
        if let error = record.error {
            appendMember(&line, "error") { appendString(&$0, error) }
        }
        return line + "}"
    }

    private static func appendMember(
        _ line: inout String, _ key: String, first: Bool = false, _ value: (inout String) -> Void
    ) {
        if !first { line += "," }
        appendString(&line, key)
        line += ":"
        value(&line)
    }

    static func appendValue(_ line: inout String, _ value: Logger.MetadataValue) {
        switch value {
        case .string(let string):
            appendString(&line, string)
        case .stringConvertible(let convertible):
            if let number = jsonNumber(convertible) {
                line += number
            } else {
                appendString(&line, convertible.description)
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

    /// RFC 8259 string: quotes, backslashes and control characters escaped; U+2028 and
    /// U+2029 too, so a line is also valid JavaScript.
    static func appendString(_ line: inout String, _ text: String) {
        line += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\u{2028}" || scalar == "\u{2029}":
                line += LogfmtEncoder.unicodeEscape(scalar)
            default: line.unicodeScalars.append(scalar)
            }
        }
        line += "\""
    }
}
