import ScribeCore
import Logging

/// `ts=… level=info msg="Job finished" logger=scribe.worker job.id=42`: one line per
/// record, values quoted only when they must be (as go-logfmt and Loki read them).
enum LogfmtEncoder {
    static func encode(_ record: LogRecord) -> String {
        var line = ""
        line.reserveCapacity(128)
        append(&line, "ts", record.timestamp)
        append(&line, "level", record.level.rawValue)
        append(&line, "msg", record.message)
        append(&line, "logger", record.label)
        for (key, value) in record.flattenedMetadata {
            append(&line, key, text(of: value))
        }
        if let error = record.error { append(&line, "error", error) }
        return line
    }

    private static func append(_ line: inout String, _ key: String, _ value: String) {
        if !line.isEmpty { line += " " }
        line += sanitizedKey(key)
        line += "="
        appendValue(&line, value)
    }

    /// Arrays as `[a, b]`; nested dictionaries were flattened before this.
    static func text(of value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let string): return string
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return "[" + values.map(text(of:)).joined(separator: ", ") + "]"
        case .dictionary(let dictionary):
            let inner = dictionary.sorted { $0.key < $1.key }.map { "\($0.key): \(text(of: $0.value))" }
            return "{" + inner.joined(separator: ", ") + "}"
        }
    }

    /// Keys cannot be quoted in logfmt: anything that would end or split one becomes `_`.
    static func sanitizedKey(_ key: String) -> String {
        guard !key.isEmpty else { return "_" }
        guard key.unicodeScalars.contains(where: isSpecial) else { return key }
        var result = ""
        for scalar in key.unicodeScalars {
            result.unicodeScalars.append(isSpecial(scalar) ? "_" : scalar)
        }
        return result
    }

    /// Space, `=`, `"`, controls and other whitespace end a bare value.
    private static func isSpecial(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value <= 0x20 || scalar == "=" || scalar == "\"" || scalar.value == 0x7F
            || (scalar.value >= 0x80 && (scalar.properties.isWhitespace || scalar.properties.generalCategory == .control))
    }

    static func appendValue(_ line: inout String, _ value: String) {
        guard value.isEmpty || value.unicodeScalars.contains(where: isSpecial) else {
            line += value
            return
        }
        // Quoted as a JSON string: what go-logfmt reads back too.
        JSONValue.appendString(value, to: &line)
    }
}
