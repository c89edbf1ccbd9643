/// Progress toward a total that may grow (jobs enqueued while waiting): the rate over a
/// sliding window of samples, the time left at that rate, and the one-line bar.
/// Pure: times are seconds on any monotonic clock, given by the caller.
///
/// ```
/// [##########..........]  12/40  30%  1.5 jobs/s  ETA 0:19  1 failed
/// ```
public struct ProgressMeter: Sendable, Equatable {
    /// Seconds of samples the rate is measured over: long enough to smooth over a batch
    /// of jobs finishing at once, short enough to follow a change of pace.
    public let window: Double
    /// What is counted (`jobs`), for the rate.
    public let unit: String
    private var samples: [Sample] = []

    private struct Sample: Sendable, Equatable {
        var time: Double
        var done: Int
    }

    public private(set) var done = 0
    public private(set) var total = 0

    public init(window: Double = 30, unit: String = "jobs") {
        precondition(window > 0, "window must be positive")
        self.window = window
        self.unit = unit
    }

    /// Records `done` of `total` at `time` (seconds, never decreasing).
    public mutating func record(done: Int, total: Int, at time: Double) {
        self.done = max(0, done)
        self.total = max(self.done, total)
        samples.append(Sample(time: time, done: self.done))
        // Keep one sample at or before the window's start, so the rate always spans the
        // whole window once there is that much history.
        while samples.count > 2 && samples[1].time <= time - window { samples.removeFirst() }
    }

    /// Items per second over the window; nil until two samples are apart in time.
    public var rate: Double? {
        guard let first = samples.first, let last = samples.last, last.time > first.time else { return nil }
        return Double(max(0, last.done - first.done)) / (last.time - first.time)
    }

    /// Seconds left at the current rate: 0 when done, nil when the rate is unknown or 0.
    public var secondsLeft: Double? {
        if done >= total { return 0 }
        guard let rate, rate > 0 else { return nil }
        return Double(total - done) / rate
    }

    public var fraction: Double { total == 0 ? 1 : Double(done) / Double(total) }

    /// The progress line, at most `width` characters (the bar shrinks first);
    /// `detail` (`1 failed`) goes at the end.
    public func line(width: Int, detail: String = "") -> String {
        let percent = Int((fraction * 100).rounded(.down))
        var figures = "  \(done)/\(total)  \(percent)%"
        figures += "  " + (rate.map { "\(Self.decimal($0)) \(unit)/s" } ?? "-- \(unit)/s")
        figures += "  ETA " + (secondsLeft.map(Self.clock) ?? "--:--")
        if !detail.isEmpty { figures += "  " + detail }
        // The figures get at least `figuresRoom` columns, so the bar keeps its width
        // while their digits come and go.
        let barWidth = min(40, width - max(figures.count, Self.figuresRoom) - 2)
        guard barWidth >= 5 else { return String(figures.dropFirst(2).prefix(max(0, width))) }
        let filled = min(barWidth, Int((fraction * Double(barWidth)).rounded(.down)))
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: barWidth - filled) + "]"
            + figures
    }

    static let figuresRoom = 46

    /// `m:ss`, or `h:mm:ss` from an hour up.
    public static func clock(_ seconds: Double) -> String {
        let total = Int(max(0, seconds).rounded())
        let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return hours > 0 ? "\(hours):\(two(minutes)):\(two(secs))" : "\(minutes):\(two(secs))"
    }

    /// Two decimals below 1, one below 100, none above: `0.03`, `12.5`, `340`
    /// (a slow queue's jobs/s must not read as 0.0).
    public static func decimal(_ value: Double) -> String {
        if value >= 100 { return String(Int(value.rounded())) }
        if value < 0.995 {
            let hundredths = Int((max(0, value) * 100).rounded())
            return "0." + (hundredths < 10 ? "0" : "") + "\(hundredths)"
        }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
