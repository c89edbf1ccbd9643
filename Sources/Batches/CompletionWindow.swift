/// A batch's completion window: a whole number of seconds, minutes, hours or days (`24h`,
/// `90m`, `2d`). OpenAI accepts only `24h`; Scribe takes any positive window.
public struct CompletionWindow: Sendable, Equatable, CustomStringConvertible {
    public var text: String
    public var duration: Duration

    public init?(_ text: String) {
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let seconds: Int64
        switch unit {
        case "s": seconds = 1
        case "m": seconds = 60
        case "h": seconds = 3600
        case "d": seconds = 86_400
        default: return nil
        }
        let (total, overflow) = count.multipliedReportingOverflow(by: seconds)
        guard !overflow, total <= 366 * 86_400 else { return nil }
        self.text = text
        duration = .seconds(total)
    }

    public var description: String { text }
}
