import Foundation

/// The `Retry-After` response header (RFC 9110 §10.2.3): a number of seconds, or an
/// HTTP date in any of the three forms recipients must accept.
public enum RetryAfter {
    /// The wait the header asks for, measured from `now`; zero for a date in the past,
    /// nil when the value is neither form.
    public static func parse(_ value: String, now: Date) -> Duration? {
        let value = value.trimmingCharacters(in: .whitespaces)
        if !value.isEmpty, value.allSatisfy(\.isASCII), value.allSatisfy(\.isNumber) {
            guard let seconds = Int64(value) else { return .seconds(Int64.max / 1_000_000_000_000) }
            return .seconds(seconds)
        }
        // asctime pads single-digit days with a space ("Nov  6").
        let date = value.split(separator: " ").joined(separator: " ")
        for format in formats {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: date) {
                let seconds = max(0, date.timeIntervalSince(now))
                return .milliseconds(Int64(seconds * 1000))
            }
        }
        return nil
    }

    /// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), RFC 850 (`Sunday, 06-Nov-94
    /// 08:49:37 GMT`) and asctime (`Sun Nov  6 08:49:37 1994`).
    private static let formats = [
        "EEE, dd MMM yyyy HH:mm:ss 'GMT'", "EEEE, dd-MMM-yy HH:mm:ss 'GMT'", "EEE MMM d HH:mm:ss yyyy",
    ]
}
