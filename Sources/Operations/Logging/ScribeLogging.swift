import Logging
import Synchronization

/// Process-wide logging set-up for Scribe's commands: once, at the start of `run()`.
public enum ScribeLogging {
    /// Environment variables read when no flag is given.
    public static let levelVariable = "SCRIBE_LOG_LEVEL"
    public static let formatVariable = "SCRIBE_LOG_FORMAT"

    /// A bad `--log-level`/`--log-format` or environment value, worded for the user.
    public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Makes every `Logger(label:)` in the process write lines in `format` at `level` and
    /// above. Only the first call in a process has an effect (swift-log allows one).
    public static func bootstrap(format: LogFormat = .logfmt, level: Logger.Level = .info, output: LogOutput = .standardError) {
        guard bootstrapped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        LoggingSystem.bootstrap(handlerFactory(format: format, level: level, output: output), metadataProvider: nil)
    }

    /// The factory `bootstrap` installs, for callers that build loggers themselves.
    public static func handlerFactory(
        format: LogFormat, level: Logger.Level, output: LogOutput = .standardError
    ) -> @Sendable (String, Logger.MetadataProvider?) -> any LogHandler {
        { label, provider in
            ScribeLogHandler(label: label, format: format, level: level, output: output, metadataProvider: provider)
        }
    }

    /// The flag when given, else `SCRIBE_LOG_LEVEL`, else `info`.
    public static func level(flag: String?, environment: [String: String]) throws(ConfigurationError) -> Logger.Level {
        if let flag {
            guard let level = Logger.Level(name: flag) else {
                throw ConfigurationError(description: "--log-level \(flag) is not a level; use one of \(levelNames)")
            }
            return level
        }
        guard let value = environment[levelVariable], !value.isEmpty else { return .info }
        guard let level = Logger.Level(name: value) else {
            throw ConfigurationError(description: "\(levelVariable)=\(value) is not a level; use one of \(levelNames)")
        }
        return level
    }

    /// The flag when given, else `SCRIBE_LOG_FORMAT`, else logfmt.
    public static func format(flag: String?, environment: [String: String]) throws(ConfigurationError) -> LogFormat {
        let names = LogFormat.allCases.map(\.rawValue).joined(separator: " or ")
        if let flag {
            guard let format = LogFormat(rawValue: flag.lowercased()) else {
                throw ConfigurationError(description: "--log-format \(flag) is not a format; use \(names)")
            }
            return format
        }
        guard let value = environment[formatVariable], !value.isEmpty else { return .logfmt }
        guard let format = LogFormat(rawValue: value.lowercased()) else {
            throw ConfigurationError(description: "\(formatVariable)=\(value) is not a format; use \(names)")
        }
        return format
    }

    static let levelNames = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
    private static let bootstrapped = Atomic<Bool>(false)
}
