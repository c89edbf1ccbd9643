/// One series' label names and values, rendered as `{name="value",...}`.
struct LabelSet: Sendable {
    let names: [String]
    let values: [String]

    static let empty = LabelSet(names: [], values: [])

    /// Appends `{a="x",b="y"}` (plus `extra`, for a histogram's `le`), or nothing when
    /// there are no labels at all.
    func render(into text: inout String, extra: (String, String)? = nil) {
        guard !names.isEmpty || extra != nil else { return }
        text += "{"
        for index in names.indices {
            if index > 0 { text += "," }
            text += names[index]
            text += "=\""
            text += PrometheusText.escapeLabelValue(values[index])
            text += "\""
        }
        if let (name, value) = extra {
            if !names.isEmpty { text += "," }
            text += name + "=\"" + PrometheusText.escapeLabelValue(value) + "\""
        }
        text += "}"
    }
}
