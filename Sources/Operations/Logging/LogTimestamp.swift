#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RFC 3339 timestamps in UTC with milliseconds, without Foundation's formatters.
enum LogTimestamp {
    static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return format(seconds: Int(time.tv_sec), nanoseconds: Int(time.tv_nsec))
    }

    /// `2026-11-27T15:33:01.123Z` for a time since the Unix epoch.
    static func format(seconds: Int, nanoseconds: Int) -> String {
        var parts = tm()
        var value = time_t(seconds)
        gmtime_r(&value, &parts)
        var text = ""
        text.reserveCapacity(24)
        appendPadded(&text, Int(parts.tm_year) + 1900, 4)
        text += "-"
        appendPadded(&text, Int(parts.tm_mon) + 1, 2)
        text += "-"
        appendPadded(&text, Int(parts.tm_mday), 2)
        text += "T"
        appendPadded(&text, Int(parts.tm_hour), 2)
        text += ":"
        appendPadded(&text, Int(parts.tm_min), 2)
        text += ":"
        appendPadded(&text, Int(parts.tm_sec), 2)
        text += "."
        appendPadded(&text, nanoseconds / 1_000_000, 3)
        text += "Z"
        return text
    }

    private static func appendPadded(_ text: inout String, _ value: Int, _ width: Int) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
    }
}
