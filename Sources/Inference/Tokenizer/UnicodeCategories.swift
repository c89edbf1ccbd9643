/// The Unicode classes llama.cpp's pre-tokenizer regexes ask about (`\p{L}`, `\p{N}`, `\p{P}`, `\s`, …),
/// packed in one byte per code point. Every code point has exactly one category bit; `whitespace` is
/// the separate White_Space property (what Python's `regex` calls `\s`, from which llama.cpp's tables
/// were generated), so U+00A0 is both `separator` and `whitespace`.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt8

    static let letter = CodepointFlags(rawValue: 1 << 0)       // \p{L}
    static let number = CodepointFlags(rawValue: 1 << 1)       // \p{N}
    static let punctuation = CodepointFlags(rawValue: 1 << 2)  // \p{P}
    static let symbol = CodepointFlags(rawValue: 1 << 3)       // \p{S}
    static let mark = CodepointFlags(rawValue: 1 << 4)         // \p{M}
    static let separator = CodepointFlags(rawValue: 1 << 5)    // \p{Z}
    /// \p{C}: control, format, surrogate, private use and unassigned.
    static let other = CodepointFlags(rawValue: 1 << 6)
    static let whitespace = CodepointFlags(rawValue: 1 << 7)   // \s

    /// `\s`, `\p{L}` or `\p{N}`: what `[^\s\p{L}\p{N}]` excludes.
    static let spaceLetterNumber: CodepointFlags = [.whitespace, .letter, .number]

    init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    init(_ value: UInt32) {
        if value < 128 {
            self = asciiFlags[Int(value)]
        } else if let scalar = Unicode.Scalar(value) {
            self = Self.classify(scalar)
        } else {
            self = .other  // lone surrogates cannot occur in a Swift String; be total anyway
        }
    }

    static func classify(_ scalar: Unicode.Scalar) -> CodepointFlags {
        var flags: CodepointFlags
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags = .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            flags = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            flags = .symbol
        case .nonspacingMark, .spacingMark, .enclosingMark:
            flags = .mark
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            flags = .separator
        default:
            flags = .other
        }
        if isWhitespace(scalar.value) { flags.insert(.whitespace) }
        return flags
    }

    /// The 25 code points with the White_Space property (the set llama.cpp's unicode-data.cpp lists).
    static func isWhitespace(_ value: UInt32) -> Bool {
        switch value {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            true
        default:
            false
        }
    }
}

/// ASCII is most of most prompts: a table keeps the general-category lookup off the hot path.
private let asciiFlags: [CodepointFlags] = (0..<128).map { CodepointFlags.classify(Unicode.Scalar(UInt8($0))) }

extension CodepointFlags {
    /// Flags for each code point of `scalars`, computed once per text so scanners can look ahead cheaply.
    static func of(_ scalars: [UInt32]) -> [CodepointFlags] {
        scalars.map { CodepointFlags($0) }
    }
}
