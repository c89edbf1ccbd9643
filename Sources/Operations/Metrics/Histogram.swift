import Synchronization

/// Observations counted into buckets by upper bound (`le`), with their sum and count
/// (`scribe_job_latency_seconds`). An observation takes one short lock: histograms are
/// observed per job, not per token. Buckets are stored non-cumulative and summed when
/// rendered, so a scrape sees one consistent state: cumulative buckets, `+Inf` equal to
/// `_count`.
public final class Histogram: Sendable {
    /// Finite, strictly increasing; `+Inf` is implicit.
    public let upperBounds: [Double]
    private let state: Mutex<State>

    private struct State {
        /// One slot per bound, then one for `+Inf`.
        var counts: [UInt64]
        var sum: Double = 0
    }

    init(upperBounds: [Double]) {
        self.upperBounds = upperBounds
        self.state = Mutex(State(counts: Array(repeating: 0, count: upperBounds.count + 1)))
    }

    /// Adds one observation. NaN is ignored (it would poison `_sum` forever).
    public func observe(_ value: Double) {
        guard !value.isNaN else { return }
        // Linear: a dozen bounds, most observations land early; found outside the lock.
        var slot = upperBounds.count
        for (index, bound) in upperBounds.enumerated() where value <= bound {
            slot = index
            break
        }
        state.withLock { state in
            state.counts[slot] &+= 1
            state.sum += value
        }
    }

    public func observe(_ duration: Duration) {
        observe(duration.seconds)
    }

    /// Cumulative counts per bound (the last one for `+Inf`), the sum and the count.
    public var snapshot: (cumulative: [UInt64], sum: Double, count: UInt64) {
        let (counts, sum) = state.withLock { ($0.counts, $0.sum) }
        var running: UInt64 = 0
        let cumulative = counts.map { count -> UInt64 in
            running &+= count
            return running
        }
        return (cumulative, sum, running)
    }

    /// Prometheus client defaults, for durations in seconds.
    public static let defaultBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}

extension Histogram: MetricSeries {
    static var typeName: String { "histogram" }

    func render(name: String, labels: LabelSet, into text: inout String) {
        let (cumulative, sum, count) = snapshot
        for (index, total) in cumulative.enumerated() {
            let bound = index < upperBounds.count ? PrometheusText.number(upperBounds[index]) : "+Inf"
            text += name
            text += "_bucket"
            labels.render(into: &text, extra: ("le", bound))
            text += " "
            text += String(total)
            text += "\n"
        }
        text += name + "_sum"
        labels.render(into: &text)
        text += " " + PrometheusText.number(sum) + "\n"
        text += name + "_count"
        labels.render(into: &text)
        text += " " + String(count) + "\n"
    }
}
