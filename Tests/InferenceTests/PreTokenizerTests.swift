import Inference
import Testing

/// Word splitting per pre-tokenizer kind. Each expectation follows from the regexes llama.cpp lists
/// for that kind (leftmost alternative wins; a regex's matches and the gaps between them are words;
/// several regexes apply one after another, each inside the words of the previous).
@Suite struct PreTokenizerTests {
    func words(_ kind: PreTokenizer.Kind, _ text: String) -> [String] {
        PreTokenizer(kind: kind).words(text)
    }

    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    @Test func gpt2() {
        #expect(words(.gpt2, "Hello world") == ["Hello", " world"])
        // Contractions are lowercase only; "'M" falls to the punctuation run, then the letter.
        #expect(words(.gpt2, "don't I'M we'll") == ["don", "'t", " I", "'", "M", " we", "'ll"])
        // \s+(?!\S) leaves the last space of a run to prefix the next word; at the end it takes all.
        #expect(words(.gpt2, "a  b") == ["a", " ", " b"])
        #expect(words(.gpt2, "a   ") == ["a", "   "])
        // Only U+0020 may prefix a word: "\n" and NBSP stand alone.
        #expect(words(.gpt2, "x\n\ny") == ["x", "\n", "\n", "y"])
        #expect(words(.gpt2, "a\tb") == ["a", "\t", "b"])
        #expect(words(.gpt2, "a\u{A0}b") == ["a", "\u{A0}", "b"])
        // Numbers and letters are separate runs; digits are not grouped.
        #expect(words(.gpt2, "2024 abc123") == ["2024", " abc", "123"])
        #expect(words(.gpt2, "Wait...!? (ok)") == ["Wait", "...!?", " (", "ok", ")"])
        // Emoji are symbols, so they join the punctuation run with its leading space.
        #expect(words(.gpt2, "hi 🍕🍕!") == ["hi", " 🍕🍕!"])
        // CJK ideographs and kana are letters (Lo).
        #expect(words(.gpt2, "東京は 日本") == ["東京は", " 日本"])
        #expect(words(.gpt2, "") == [])
    }

    /// SmolLM / StarCoder: `\p{N}` first (every number character alone), then GPT-2 inside each piece.
    @Test func smollm() {
        // The space before the digits ends its piece, so \s+(?!\S) keeps it whole (as llama.cpp gives 216 = " ").
        #expect(words(.smollm, "The year 2024") == ["The", " year", " ", "2", "0", "2", "4"])
        #expect(words(.smollm, "x1y") == ["x", "1", "y"])
        // ½ and ² are \p{N} (No) too.
        #expect(words(.smollm, "½ or x²") == ["½", " or", " x", "²"])
        #expect(words(.smollm, "a  b") == ["a", " ", " b"])
        #expect(words(.smollm, "don't") == ["don", "'t"])
    }

    /// Llama 3: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    @Test func llama3() {
        #expect(words(.llama3, "don't I'M") == ["don", "'t", " I", "'M"])
        #expect(words(.llama3, "1234567") == ["123", "456", "7"])
        #expect(words(.llama3, "a  b") == ["a", " ", " b"])
        // Line breaks gather the whitespace before them: \s*[\r\n]+.
        #expect(words(.llama3, "x\n\ny") == ["x", "\n\n", "y"])
        #expect(words(.llama3, "x  \n  y") == ["x", "  \n", " ", " y"])
        // Any one non-letter, non-digit, non-newline character may lead a word.
        #expect(words(.llama3, "(hello)") == ["(hello", ")"])
        #expect(words(.llama3, "\tword") == ["\tword"])
        // A punctuation run takes the line breaks after it.
        #expect(words(.llama3, "...\n\nok") == ["...\n\n", "ok"])
        #expect(words(.llama3, "$100") == ["$", "100"])
        #expect(words(.llama3, "hi 🍕🍕!") == ["hi", " 🍕🍕!"])
        #expect(words(.llama3, "東京は 日本") == ["東京は", " 日本"])
    }

    /// Qwen2: Llama 3's regex with `\p{N}` in place of `\p{N}{1,3}`.
    @Test func qwen2() {
        #expect(words(.qwen2, "1234") == ["1", "2", "3", "4"])
        #expect(words(.qwen2, "x 12") == ["x", " ", "1", "2"])
        #expect(words(.qwen2, "WE'LL go") == ["WE", "'LL", " go"])
    }

    /// Default: `[\p{P}\$\+<=>\^~\|]+`, then GPT-2, then `\p{N}+`, then `[0-9][0-9][0-9]`.
    @Test func defaultKind() {
        #expect(words(.default, "a+b=c") == ["a", "+", "b", "=", "c"])
        #expect(words(.default, "hello, world!") == ["hello", ",", " world", "!"])
        #expect(words(.default, "12345") == ["123", "45"])
        // GPT-2 gives " 2024"; \p{N}+ splits off the space; the triple rule cuts "202".
        #expect(words(.default, "x 2024") == ["x", " ", "202", "4"])
        // '`' is a symbol (Sk), outside the first class: GPT-2 handles it.
        #expect(words(.default, "`a`") == ["`", "a", "`"])
    }

    /// Falcon: `[\p{P}\$\+<=>\^~\|`]+`, then GPT-2, then `[0-9][0-9][0-9]`.
    @Test func falcon() {
        #expect(words(.falcon, "x 2024") == ["x", " ", "202", "4"])
        #expect(words(.falcon, "x 20") == ["x", " 20"])
        #expect(words(.falcon, "`a`") == ["`", "a", "`"])
    }

    @Test(arguments: PreTokenizer.Kind.allCases)
    func wordsConcatenateToTheText(kind: PreTokenizer.Kind) {
        let texts = [
            "Hello,  world!\n\n\tIt's 2024 — naïve café ½ 東京 🍕🍕 👩‍👩‍👧 ", "   ", "\r\n", "''''s", "a'", "'",
            "x\u{200B}y\u{301}z", "Ｆｕｌｌ１２３", "e\u{301}\u{301}", "١٢٣٤٥",
        ]
        for text in texts {
            let words = words(kind, text)
            #expect(words.joined() == text)
            #expect(!words.contains(""))
        }
    }
}
