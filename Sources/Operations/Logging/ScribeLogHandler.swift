import Logging

/// A swift-log handler writing one line per event, as logfmt or JSON, to a `LogOutput`
/// (standard error by default, which journald collects).
public struct ScribeLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let label: String
    public let format: LogFormat
    private let output: LogOutput

    public init(
        label: String, format: LogFormat = .logfmt, level: Logger.Level = .info,
        output: LogOutput = .standardError, metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let record = LogRecord(
            timestamp: LogTimestamp.now(), level: event.level, message: event.message.description,
            label: label, metadata: merged(event.metadata), error: event.error.map { "\($0)" })
        output.write(record.formatted(as: format) + "\n")
    }

    /// Provider, then handler, then call-site metadata: the most specific wins.
    private func merged(_ explicit: Logger.Metadata?) -> Logger.Metadata {
        var result = metadataProvider?.get() ?? [:]
        if result.isEmpty {
            result = metadata
        } else {
            result.merge(metadata) { $1 }
        }
        if let explicit { result.merge(explicit) { $1 } }
        return result
    }
}
