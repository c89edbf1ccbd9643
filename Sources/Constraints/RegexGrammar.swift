extension Grammar {
    /// Elements matching exactly the strings of `pattern`: as raw UTF-8 (`regex`
    /// constraints), or as the content of a JSON string (`pattern` and `format` in a
    /// schema), where `"`, `\` and control characters must be written as escapes.
    public mutating func elements(for pattern: RegexPattern, inJSONString: Bool) -> [Element] {
        switch pattern {
        case .characters(let ranges):
            return [characters(ranges, inJSONString: inJSONString)]
        case .sequence(let items):
            return items.flatMap { elements(for: $0, inJSONString: inJSONString) }
        case .choice(let branches):
            return [rule("regex-choice", branches.map { elements(for: $0, inJSONString: inJSONString) })]
        case .repeated(let item, let minimum, let maximum):
            let one = rule("regex-item", [elements(for: item, inJSONString: inJSONString)])
            return repeated("regex-repeat", one, minimum: minimum, maximum: maximum)
        }
    }

    private mutating func characters(_ ranges: [ClosedRange<UInt32>], inJSONString: Bool) -> Element {
        var alternatives: [[Element]] = []
        var plain = ranges
        if inJSONString {
            let escaped: [UInt32: String] = [0x22: "\\\"", 0x5C: "\\\\", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"]
            for scalar in UInt32(0)...0x5C where ranges.contains(where: { $0.contains(scalar) }) {
                if let text = escaped[scalar] {
                    alternatives.append(Grammar.literal(text))
                } else if scalar < 0x20 {
                    let hex = String(scalar, radix: 16)
                    alternatives.append(Grammar.literal("\\u" + String(repeating: "0", count: 4 - hex.count) + hex))
                }
            }
            plain = RegexPattern.complement(RegexPattern.normalized(RegexPattern.complement(ranges) + [0...0x1F, 0x22...0x22, 0x5C...0x5C]))
        }
        for range in plain {
            alternatives += UTF8Ranges.sequences(range).map { $0.map(Element.bytes) }
        }
        return rule("regex-characters", alternatives)
    }
}
