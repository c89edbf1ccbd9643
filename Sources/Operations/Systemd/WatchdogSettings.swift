#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The service watchdog systemd set up for this process (`WatchdogSec=`), read from
/// `WATCHDOG_USEC` and `WATCHDOG_PID` as sd_watchdog_enabled(3) does.
public struct WatchdogSettings: Sendable, Equatable {
    /// `WatchdogSec=`: without a ping for this long, systemd kills and restarts us.
    public var timeout: Duration

    /// How often to send `WATCHDOG=1`: half the timeout, as sd_watchdog_enabled advises,
    /// so one late ping is not fatal.
    public var pingInterval: Duration { timeout / 2 }

    public init(timeout: Duration) {
        self.timeout = timeout
    }

    /// Nil when no watchdog is set, the value is unreadable or zero, or `WATCHDOG_PID`
    /// names another process (the variables were inherited, not meant for us).
    public init?(environment: [String: String], pid: Int32 = getpid()) {
        guard let text = environment["WATCHDOG_USEC"], let microseconds = UInt64(text), microseconds > 0 else {
            return nil
        }
        if let owner = environment["WATCHDOG_PID"], !owner.isEmpty {
            guard Int32(owner) == pid else { return nil }
        }
        self.timeout = .microseconds(Int64(clamping: microseconds))
    }
}

/// Decides when the generation loop pings: call `isDue(at:)` every step (a comparison,
/// no system call) and send `WATCHDOG=1` when it says so. Pinging from the loop itself,
/// not from a timer, is the point: a hung loop stops the pings and systemd restarts it.
public struct WatchdogTimer: Sendable {
    public let interval: Duration
    private var lastPing: ContinuousClock.Instant?

    public init(interval: Duration) {
        self.interval = interval
    }

    /// True the first time and whenever `interval` has passed since the last true;
    /// records `now` as the ping time when it answers true.
    public mutating func isDue(at now: ContinuousClock.Instant = .now) -> Bool {
        if let lastPing, now - lastPing < interval { return false }
        lastPing = now
        return true
    }
}
