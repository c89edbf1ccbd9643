import Foundation
import Testing

/// A strict reader of the Prometheus text format 0.0.4, for checking what the registry
/// and the server produce: every rule it enforces is one a scraper relies on.
struct PrometheusExposition {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Family {
        var name: String
        var type: String
        var help: String
        var samples: [Sample] = []
    }

    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    private(set) var families: [String: Family] = [:]
    private(set) var order: [String] = []

    init(_ text: String) throws {
        guard text.isEmpty || text.hasSuffix("\n") else { throw Malformed(description: "no final newline") }
        var help: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = String(rest.prefix { $0 != " " })
                help[name] = try Self.unescape(String(rest.dropFirst(name.count + 1)), quotes: false)
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                guard parts.count == 2, ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[1])) else {
                    throw Malformed(description: "bad TYPE line: \(line)")
                }
                let name = String(parts[0])
                guard families[name] == nil else { throw Malformed(description: "\(name) declared twice") }
                guard let helpText = help[name] else { throw Malformed(description: "\(name): TYPE without HELP before it") }
                families[name] = Family(name: name, type: String(parts[1]), help: helpText)
                order.append(name)
            } else if line.hasPrefix("#") || line.isEmpty {
                continue
            } else {
                let sample = try Self.parseSample(String(line))
                guard let family = Self.family(of: sample.name, in: families) else {
                    throw Malformed(description: "sample \(sample.name) has no TYPE")
                }
                guard order.last == family else { throw Malformed(description: "\(sample.name) is not with its family") }
                families[family]!.samples.append(sample)
            }
        }
        try checkHistograms()
        try checkUniqueSeries()
    }

    /// A sample belongs to the family of its name, or (histograms) of the name without
    /// `_bucket`, `_sum` or `_count`.
    private static func family(of name: String, in families: [String: Family]) -> String? {
        if families[name] != nil { return name }
        for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
            let base = String(name.dropLast(suffix.count))
            if families[base]?.type == "histogram" { return base }
        }
        return nil
    }

    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        for family in families.values {
            if let sample = family.samples.first(where: { $0.name == name && $0.labels == labels }) { return sample.value }
        }
        return nil
    }

    static func parseSample(_ line: String) throws -> Sample {
        var index = line.startIndex
        let name = String(line[index...].prefix { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" })
        guard !name.isEmpty, !(name.first!.isNumber) else { throw Malformed(description: "bad metric name: \(line)") }
        index = line.index(index, offsetBy: name.count)
        var labels: [String: String] = [:]
        if index < line.endIndex && line[index] == "{" {
            index = line.index(after: index)
            while line[index] != "}" {
                let labelName = String(line[index...].prefix { $0.isLetter || $0.isNumber || $0 == "_" })
                guard !labelName.isEmpty, !labelName.first!.isNumber else { throw Malformed(description: "bad label in \(line)") }
                index = line.index(index, offsetBy: labelName.count)
                guard line[index...].hasPrefix("=\"") else { throw Malformed(description: "label without =\" in \(line)") }
                index = line.index(index, offsetBy: 2)
                var raw = ""
                while line[index] != "\"" {
                    if line[index] == "\\" {
                        raw.append(line[index])
                        index = line.index(after: index)
                    }
                    raw.append(line[index])
                    index = line.index(after: index)
                }
                index = line.index(after: index)
                guard labels[labelName] == nil else { throw Malformed(description: "label \(labelName) twice in \(line)") }
                labels[labelName] = try unescape(raw, quotes: true)
                if line[index] == "," { index = line.index(after: index) }
            }
            index = line.index(after: index)
        }
        guard index < line.endIndex, line[index] == " " else { throw Malformed(description: "no space before value: \(line)") }
        let valueText = line[line.index(after: index)...]
        guard !valueText.contains(" ") else { throw Malformed(description: "timestamps are not expected: \(line)") }
        guard let value = parseValue(String(valueText)) else { throw Malformed(description: "bad value: \(line)") }
        return Sample(name: name, labels: labels, value: value)
    }

    static func parseValue(_ text: String) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default: return Double(text)
        }
    }

    /// `\\`, `\n` and (in label values) `\"` are the only escapes.
    static func unescape(_ text: String, quotes: Bool) throws -> String {
        var result = ""
        var escaping = false
        for character in text {
            if escaping {
                switch character {
                case "\\": result.append("\\")
                case "n": result.append("\n")
                case "\"" where quotes: result.append("\"")
                default: throw Malformed(description: "bad escape \\\(character) in \(text)")
                }
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                guard character != "\n" else { throw Malformed(description: "raw newline in \(text)") }
                result.append(character)
            }
        }
        guard !escaping else { throw Malformed(description: "dangling backslash in \(text)") }
        return result
    }

    /// Buckets cumulative and in increasing `le` order, ending with `+Inf` == `_count`,
    /// and a `_sum` for every label set.
    private func checkHistograms() throws {
        for family in families.values where family.type == "histogram" {
            var seriesKeys: [[String: String]] = []
            for sample in family.samples where sample.name == family.name + "_count" { seriesKeys.append(sample.labels) }
            for labels in seriesKeys {
                let buckets = family.samples.filter {
                    $0.name == family.name + "_bucket" && $0.labels.filter { $0.key != "le" } == labels
                }
                guard let last = buckets.last, last.labels["le"] == "+Inf" else {
                    throw Malformed(description: "\(family.name)\(labels): no +Inf bucket last")
                }
                let bounds = try buckets.map { bucket -> Double in
                    guard let le = bucket.labels["le"], let bound = Self.parseValue(le) else {
                        throw Malformed(description: "\(family.name): bucket without a numeric le")
                    }
                    return bound
                }
                guard zip(bounds, bounds.dropFirst()).allSatisfy({ $0 < $1 }) else {
                    throw Malformed(description: "\(family.name): le not increasing: \(bounds)")
                }
                guard zip(buckets, buckets.dropFirst()).allSatisfy({ $0.value <= $1.value }) else {
                    throw Malformed(description: "\(family.name): buckets not cumulative")
                }
                let count = family.samples.first { $0.name == family.name + "_count" && $0.labels == labels }!.value
                guard last.value == count else {
                    throw Malformed(description: "\(family.name): +Inf bucket \(last.value) != count \(count)")
                }
                guard family.samples.contains(where: { $0.name == family.name + "_sum" && $0.labels == labels }) else {
                    throw Malformed(description: "\(family.name)\(labels): no _sum")
                }
            }
        }
    }

    private func checkUniqueSeries() throws {
        for family in families.values {
            var seen = Set<String>()
            for sample in family.samples {
                let key = sample.name + sample.labels.sorted { $0.key < $1.key }.description
                guard seen.insert(key).inserted else { throw Malformed(description: "duplicate series \(key)") }
            }
        }
    }
}
