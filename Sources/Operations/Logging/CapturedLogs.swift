import Logging
import Synchronization

/// Keeps log records in memory, for tests that check what code under test reported.
///
///     let logs = CapturedLogs()
///     let queue = JobQueue(..., logger: logs.logger())
///     #expect(logs.records.contains { $0.message == "Lease lost" })
public final class CapturedLogs: Sendable {
    private let stored = Mutex<[LogRecord]>([])

    public init() {}

    /// Every record so far, oldest first.
    public var records: [LogRecord] { stored.withLock { $0 } }

    /// Each record as the line `ScribeLogHandler` would write (no newline).
    public func lines(as format: LogFormat = .logfmt) -> [String] {
        records.map { $0.formatted(as: format) }
    }

    public func removeAll() { stored.withLock { $0.removeAll() } }

    /// A logger writing into this capture (at every level unless told otherwise).
    public func logger(label: String = "test", level: Logger.Level = .trace) -> Logger {
        var logger = Logger(label: label) { CapturingLogHandler(label: $0, capture: self) }
        logger.logLevel = level
        return logger
    }

    fileprivate func append(_ record: LogRecord) {
        stored.withLock { $0.append(record) }
    }
}

/// The handler behind `CapturedLogs.logger`; usable directly with `LoggingSystem` too.
public struct CapturingLogHandler: LogHandler {
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let capture: CapturedLogs

    public init(label: String, capture: CapturedLogs) {
        self.label = label
        self.capture = capture
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadataProvider?.get() ?? [:]
        merged.merge(metadata) { $1 }
        merged.merge(event.metadata ?? [:]) { $1 }
        capture.append(LogRecord(
            timestamp: LogTimestamp.now(), level: event.level, message: event.message.description,
            label: label, metadata: merged, error: event.error.map { "\($0)" }))
    }
}
