import Synchronization

/// A value that goes up and down (`scribe_running_sequences`). Stored as the bit pattern
/// of a Double in one atomic: `set` is a single store, `add` a compare-exchange loop.
public final class Gauge: Sendable {
    private let bits = Atomic<UInt64>(Double(0).bitPattern)

    init() {}

    public func set(_ value: Double) {
        bits.store(value.bitPattern, ordering: .relaxed)
    }

    public func set(_ value: Int) { set(Double(value)) }

    public func add(_ delta: Double) {
        var current = bits.load(ordering: .relaxed)
        while true {
            let next = (Double(bitPattern: current) + delta).bitPattern
            let (exchanged, original) = bits.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    public func increment() { add(1) }
    public func decrement() { add(-1) }

    public var value: Double { Double(bitPattern: bits.load(ordering: .relaxed)) }
}

extension Gauge: MetricSeries {
    static var typeName: String { "gauge" }

    func render(name: String, labels: LabelSet, into text: inout String) {
        text += name
        labels.render(into: &text)
        text += " "
        text += PrometheusText.number(value)
        text += "\n"
    }
}
