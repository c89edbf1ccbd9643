/// One `KEY=value` assignment of the sd_notify protocol (see sd_notify(3)).
public enum NotifyField: Sendable, Equatable {
    /// Start-up finished: the model is loaded, the database reached, LISTEN set.
    case ready
    /// Free text shown by `systemctl status` (newlines become spaces).
    case status(String)
    /// The service is alive; must come more often than `WatchdogSec=`.
    case watchdog
    /// Asks systemd to act as if the watchdog had expired.
    case watchdogTrigger
    /// Give the current start or stop this much more time (from now).
    case extendTimeout(Duration)
    /// Shutdown has begun (the drain).
    case stopping
    case reloading
    /// The main process is this one (for a process that systemd did not start itself).
    case mainPID(Int32)
    /// The error the service is failing with, as an errno number.
    case errno(Int32)

    /// The protocol line, without a newline.
    public var assignment: String {
        switch self {
        case .ready: return "READY=1"
        case .status(let text): return "STATUS=" + Self.singleLine(text)
        case .watchdog: return "WATCHDOG=1"
        case .watchdogTrigger: return "WATCHDOG=trigger"
        case .extendTimeout(let duration): return "EXTEND_TIMEOUT_USEC=\(Self.microseconds(duration))"
        case .stopping: return "STOPPING=1"
        case .reloading: return "RELOADING=1"
        case .mainPID(let pid): return "MAINPID=\(pid)"
        case .errno(let number): return "ERRNO=\(number)"
        }
    }

    /// A newline would start another assignment (a STATUS text could otherwise send
    /// `READY=1`), so status text is kept to one line.
    static func singleLine(_ text: String) -> String {
        guard text.contains(where: \.isNewline) else { return text }
        return String(text.map { $0.isNewline ? " " : $0 })
    }

    /// Whole microseconds, rounded up so a tiny extension is never 0 (which systemd ignores).
    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let micros = Double(seconds) * 1e6 + Double(attoseconds) / 1e12
        return UInt64(micros.rounded(.up))
    }

    /// The datagram for several assignments.
    static func message(_ fields: [NotifyField]) -> String {
        fields.map(\.assignment).joined(separator: "\n") + "\n"
    }
}
