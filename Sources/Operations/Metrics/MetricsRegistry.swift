import Synchronization

/// The metrics one process exposes, rendered as Prometheus text on each scrape.
///
/// Registering is done once at start-up (names are constants: a bad or clashing name is
/// a programming error and stops the program); updating the returned metrics is
/// thread-safe and lock-free for counters and gauges.
public final class MetricsRegistry: Sendable {
    private let families = Mutex<[any RenderableFamily]>([])

    public init() {}

    public func counter(_ name: String, help: String) -> Counter {
        counterFamily(name, help: help, labelNames: []).labels([])
    }

    public func counterFamily(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Counter> {
        register(MetricFamily<Counter>(
            name: name, help: help, labelNames: labelNames, typeName: Counter.typeName,
            makeSeries: { Counter() }, render: { $0.render(name: $1, labels: $2, into: &$3) }))
    }

    public func gauge(_ name: String, help: String) -> Gauge {
        gaugeFamily(name, help: help, labelNames: []).labels([])
    }

    public func gaugeFamily(_ name: String, help: String, labelNames: [String]) -> MetricFamily<Gauge> {
        register(MetricFamily<Gauge>(
            name: name, help: help, labelNames: labelNames, typeName: Gauge.typeName,
            makeSeries: { Gauge() }, render: { $0.render(name: $1, labels: $2, into: &$3) }))
    }

    public func histogram(_ name: String, help: String, buckets: [Double] = Histogram.defaultBuckets) -> Histogram {
        histogramFamily(name, help: help, labelNames: [], buckets: buckets).labels([])
    }

    public func histogramFamily(
        _ name: String, help: String, labelNames: [String], buckets: [Double] = Histogram.defaultBuckets
    ) -> MetricFamily<Histogram> {
        precondition(!labelNames.contains("le"), "\(name): `le` is the bucket label of a histogram")
        let bounds = buckets.filter { $0 != .infinity }
        precondition(
            !bounds.isEmpty && bounds.allSatisfy(\.isFinite) && zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 },
            "\(name): histogram buckets must be finite and strictly increasing")
        return register(MetricFamily<Histogram>(
            name: name, help: help, labelNames: labelNames, typeName: Histogram.typeName,
            makeSeries: { Histogram(upperBounds: bounds) }, render: { $0.render(name: $1, labels: $2, into: &$3) }))
    }

    /// A gauge fixed at 1 whose labels carry facts (`scribe_build_info{version="0.1.0"}`);
    /// nothing is exposed until its values are set.
    public func info(_ name: String, help: String, labelNames: [String]) -> InfoMetric {
        register(InfoMetric(name: name, help: help, labelNames: labelNames))
    }

    /// The whole exposition, families in registration order.
    public func exposition() -> String {
        let snapshot = families.withLock { $0 }
        var text = ""
        text.reserveCapacity(4096)
        for family in snapshot { family.render(into: &text) }
        return text
    }

    private func register<Series>(_ family: MetricFamily<Series>) -> MetricFamily<Series> {
        register(family as any RenderableFamily) as! MetricFamily<Series>
    }

    private func register(_ info: InfoMetric) -> InfoMetric {
        register(info as any RenderableFamily) as! InfoMetric
    }

    /// Same name, type and labels again hands back the existing metric, so two parts of
    /// the program may ask for the same one.
    private func register(_ family: any RenderableFamily) -> any RenderableFamily {
        precondition(PrometheusText.isValidMetricName(family.name), "\(family.name) is not a valid metric name")
        for label in family.labelNames {
            precondition(PrometheusText.isValidLabelName(label), "\(family.name): \(label) is not a valid label name")
        }
        precondition(Set(family.labelNames).count == family.labelNames.count, "\(family.name): duplicate label names")
        return families.withLock { families in
            if let existing = families.first(where: { $0.name == family.name }) {
                precondition(
                    type(of: existing) == type(of: family) && existing.labelNames == family.labelNames,
                    "\(family.name) is already registered with another type or labels")
                return existing
            }
            families.append(family)
            return family
        }
    }
}
