import Testing
@testable import Constraints

/// llama.cpp's GBNF grammars: the forms its grammars use, matched as written, and the
/// grammars a top-down matcher cannot run refused by name.
@Suite struct GBNFGrammarTests {
    static func check(_ text: String, accepts valid: [String], refuses invalid: [String]) throws {
        let grammar = try GBNFGrammar.compile(text)
        for sample in valid { #expect(try GrammarMatcherTests.matches(grammar, sample), "should accept \(sample.debugDescription)") }
        for sample in invalid { #expect(try !GrammarMatcherTests.matches(grammar, sample), "should refuse \(sample.debugDescription)") }
    }

    @Test func grammarsMatchWhatTheyDescribe() throws {
        try Self.check(#"root ::= "yes" | "no""#, accepts: ["yes", "no"], refuses: ["", "yes ", "maybe"])
        // A list, as in llama.cpp's grammars/list.gbnf, with comments and continued lines.
        try Self.check(#"""
            root ::= item+   # one or more lines
            # Excludes various line break characters
            item ::= "- " [^\r\n\x0b\x0c\x85\u2028\u2029]+ "\n"
            """#, accepts: ["- milk\n", "- eggs\n- flour 日本\n"], refuses: ["- \n", "milk\n", "- milk"])
        try Self.check(#"""
            root   ::= expr
            expr   ::= term (ws ("+" | "-") ws term)*
            term   ::= num | "(" ws expr ws ")"
            num    ::= "-"? [0-9]{1,3}
            ws     ::= [ \t]?
            """#, accepts: ["1", "12 + (3 - -4)", "((7))"], refuses: ["1 +", "1234", "(1", "1  + 2"])
        try Self.check(#"root ::= ("a" | "b"){2,3} "\x21" . "\u00e9"?"#, accepts: ["ab!x", "bba!.é", "aa!\t"],
                       refuses: ["a!x", "abab!x", "ab!\n", "ab!"])
        try Self.check(#"""
            root ::= "{" ws "\"ok\"" ws ":" ws bool ws "}"
            bool ::= "true" | "false"
            ws ::= [ ]*
            """#, accepts: [#"{"ok":true}"#, #"{ "ok" : false }"#], refuses: [#"{"ok":1}"#])
    }

    @Test func whatCannotRunIsRefusedByName() {
        let cases: [(String, String)] = [
            ("root ::= root \"a\" | \"a\"", "rule root is left-recursive; write the repetition with * or +"),
            ("root ::= x\nx ::= y? root\ny ::= \"b\"", "rule root is left-recursive; write the repetition with * or +"),
            ("root ::= missing", "rule missing is used but never defined"),
            ("start ::= \"a\"", "there is no rule named root"),
            ("root ::= \"a\"\nroot ::= \"b\"", "rule root is defined twice"),
            ("root ::= \"a", "a string is not closed"),
            ("root ::= [a-", "a class is not closed"),
            ("root ::= \"a\"{2000}", "a repeat count is above 1000 or its bounds are reversed"),
            ("root = \"a\"", "expected ::= after root"),
        ]
        for (text, reason) in cases {
            let error = #expect(throws: GBNFGrammar.Invalid.self) { try GBNFGrammar.compile(text) }
            #expect(error?.reason == reason, "\(text.debugDescription): \(String(describing: error))")
        }
    }
}
