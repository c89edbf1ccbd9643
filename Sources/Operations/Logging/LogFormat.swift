import Logging

/// How log lines are written: `key=value` pairs (logfmt, the default) or one JSON object.
public enum LogFormat: String, Sendable, CaseIterable {
    case logfmt
    case json
}

extension Logger.Level {
    /// Parses a level name as users type it: any case, `warn` for `warning`,
    /// `crit` for `critical`. Nil for anything else.
    public init?(name: String) {
        let lowered = name.lowercased()
        switch lowered {
        case "warn": self = .warning
        case "crit": self = .critical
        case "err": self = .error
        default:
            guard let level = Logger.Level(rawValue: lowered) else { return nil }
            self = level
        }
    }
}
