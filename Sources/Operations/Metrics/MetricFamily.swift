import Synchronization

/// What a family's series are: counters, gauges or histograms.
protocol MetricSeries: AnyObject, Sendable {
    static var typeName: String { get }
    func render(name: String, labels: LabelSet, into text: inout String)
}

/// The metrics registry renders families without knowing their series type.
protocol RenderableFamily: Sendable {
    var name: String { get }
    var typeName: String { get }
    var labelNames: [String] { get }
    func render(into text: inout String)
}

/// All series of one metric name, one per combination of label values
/// (`scribe_jobs_finished_total{outcome="succeeded"}`, `{outcome="failed"}`, ...).
///
/// Look a series up once and keep it: `labels(...)` takes a lock and may allocate,
/// while updating the returned series does neither.
public final class MetricFamily<Series: AnyObject & Sendable>: Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    private let makeSeries: @Sendable () -> Series
    private let renderSeries: @Sendable (Series, String, LabelSet, inout String) -> Void
    let typeName: String
    /// In creation order, so the exposition is stable between scrapes.
    private let series = Mutex<(byValues: [[String]: Series], ordered: [(values: [String], series: Series)])>(([:], []))

    init(
        name: String, help: String, labelNames: [String], typeName: String,
        makeSeries: @escaping @Sendable () -> Series,
        render: @escaping @Sendable (Series, String, LabelSet, inout String) -> Void
    ) {
        self.name = name
        self.help = help
        self.labelNames = labelNames
        self.typeName = typeName
        self.makeSeries = makeSeries
        self.renderSeries = render
    }

    /// The series for these label values, in `labelNames` order; created on first use.
    public func labels(_ values: String...) -> Series {
        labels(values)
    }

    public func labels(_ values: [String]) -> Series {
        precondition(
            values.count == labelNames.count,
            "\(name) takes \(labelNames.count) label values (\(labelNames)), got \(values.count)")
        return series.withLock { state in
            if let existing = state.byValues[values] { return existing }
            let created = makeSeries()
            state.byValues[values] = created
            state.ordered.append((values, created))
            return created
        }
    }
}

extension MetricFamily: RenderableFamily {
    func render(into text: inout String) {
        let ordered = series.withLock { $0.ordered }
        text += "# HELP \(name) \(PrometheusText.escapeHelp(help))\n"
        text += "# TYPE \(name) \(typeName)\n"
        for (values, series) in ordered {
            renderSeries(series, name, LabelSet(names: labelNames, values: values), &text)
        }
    }
}
