import Synchronization

/// An info-style gauge: one series, value 1, whose labels carry facts that may change
/// (`scribe_blas_info{core="Haswell",threads="2"} 1`). Setting it replaces the labels.
public final class InfoMetric: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    private let values = Mutex<[String]?>(nil)

    init(name: String, help: String, labelNames: [String]) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
    }

    /// The label values, in `labelNames` order.
    public func set(_ values: String...) {
        precondition(values.count == labelNames.count, "\(name) takes \(labelNames.count) label values")
        self.values.withLock { $0 = values }
    }
}

extension InfoMetric: RenderableFamily {
    var typeName: String { "gauge" }

    func render(into text: inout String) {
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n"
        text += "# TYPE \(name) gauge\n"
        guard let values = values.withLock({ $0 }) else { return }
        text += name
        LabelSet(names: labelNames, values: values).render(into: &text)
        text += " 1\n"
    }
}
