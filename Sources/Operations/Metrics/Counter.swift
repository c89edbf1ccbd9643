import Synchronization

/// A value that only goes up (`scribe_tokens_generated_total`). One relaxed atomic add
/// per increment: cheap enough for the generation loop, no lock, no allocation.
public final class Counter: Sendable {
    private let count = Atomic<UInt64>(0)

    init() {}

    public func increment() { count.wrappingAdd(1, ordering: .relaxed) }

    public func add(_ amount: UInt64) {
        count.wrappingAdd(amount, ordering: .relaxed)
    }

    /// Negative amounts are ignored: a counter never goes down.
    public func add(_ amount: Int) {
        guard amount > 0 else { return }
        add(UInt64(amount))
    }

    public var value: UInt64 { count.load(ordering: .relaxed) }
}

extension Counter: MetricSeries {
    static var typeName: String { "counter" }

    func render(name: String, labels: LabelSet, into text: inout String) {
        text += name
        labels.render(into: &text)
        text += " "
        text += String(value)
        text += "\n"
    }
}
