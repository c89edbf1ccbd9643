import Logging

/// One log event with everything a line shows, already merged from the logger's
/// metadata, its provider and the call site.
public struct LogRecord: Sendable {
    /// RFC 3339 UTC with milliseconds (`2026-11-27T15:33:01.123Z`).
    public var timestamp: String
    public var level: Logger.Level
    public var message: String
    /// The logger's label (`scribe.worker`).
    public var label: String
    public var metadata: Logger.Metadata
    /// The `error:` argument of the log call, described.
    public var error: String?

    public init(
        timestamp: String, level: Logger.Level, message: String, label: String,
        metadata: Logger.Metadata = [:], error: String? = nil
    ) {
        self.timestamp = timestamp
        self.level = level
        self.message = message
        self.label = label
        self.metadata = metadata
        self.error = error
    }

    /// The fields every line starts with; metadata using one of these names is shown
    /// under `meta.<name>` so no line carries a key twice.
    static let reservedKeys: Set<String> = ["ts", "level", "msg", "logger", "error"]

    /// Metadata flattened to (dotted key, value) pairs, sorted by key so lines compare
    /// stably: nested dictionaries become `outer.inner` keys.
    var flattenedMetadata: [(key: String, value: Logger.MetadataValue)] {
        var pairs: [(key: String, value: Logger.MetadataValue)] = []
        func add(_ prefix: String, _ metadata: Logger.Metadata) {
            for (key, value) in metadata {
                let full = prefix.isEmpty ? key : prefix + "." + key
                if case .dictionary(let nested) = value, !nested.isEmpty {
                    add(full, nested)
                } else {
                    pairs.append((Self.reservedKeys.contains(full) ? "meta." + full : full, value))
                }
            }
        }
        add("", metadata)
        return pairs.sorted { $0.key < $1.key }
    }

    /// The line in `format`, without the trailing newline.
    public func formatted(as format: LogFormat) -> String {
        switch format {
        case .logfmt: return LogfmtEncoder.encode(self)
        case .json: return JSONLogEncoder.encode(self)
        }
    }
}
