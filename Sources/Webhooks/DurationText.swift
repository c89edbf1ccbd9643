/// Durations as operators write them on the command line: `500ms`, `5s`, `5m`, `2h`, `3d`
/// (a bare number is seconds).
public enum DurationText {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws -> Duration {
        let text = text.trimmingSpaces()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        var number = Substring(text), scale = 1.0
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number), value >= 0, value.isFinite else {
            throw Invalid(description: "\"\(text)\" is not a duration such as 500ms, 5s, 5m, 2h or 3d")
        }
        return .milliseconds(Int64((value * scale * 1000).rounded()))
    }

    /// A comma-separated list, e.g. a retry schedule `5s,5m,30m,2h,5h,10h,10h`.
    public static func parseList(_ text: String) throws -> [Duration] {
        try text.split(separator: ",").map { try parse(String($0)) }
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
