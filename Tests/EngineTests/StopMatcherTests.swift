import Engine
import Testing

@Suite struct StopMatcherTests {
    /// Feeds chunks; returns everything emitted (including the flush when no stop matched) and the stop.
    func run(_ stops: [String], _ chunks: [String]) -> (text: String, stop: String?) {
        var matcher = StopMatcher(stops: stops)
        var text = ""
        for chunk in chunks {
            let out = matcher.consume(chunk)
            text += out.text
            if let stop = out.stop { return (text, stop) }
        }
        return (text + matcher.finish(), nil)
    }

    @Test func stopInsideOneChunk() {
        #expect(run(["STOP"], ["Hello STOP world"]) == ("Hello ", "STOP"))
    }

    @Test func stopAcrossChunks() {
        #expect(run(["STOP"], ["Hel", "lo ST", "O", "P and more"]) == ("Hello ", "STOP"))
        #expect(run(["\n\n"], ["a\n", "\nb"]) == ("a", "\n\n"))
    }

    @Test func heldBackTextIsReleasedWhenItStopsMatching() {
        var matcher = StopMatcher(stops: ["STOP"])
        #expect(matcher.consume("Hello ST") == .init(text: "Hello "))
        #expect(matcher.consume("A") == .init(text: "STA"))
        #expect(matcher.consume("RT S") == .init(text: "RT "))
        #expect(matcher.finish() == "S")
        #expect(matcher.finish() == "")
    }

    @Test func stopAtTheVeryStart() {
        #expect(run(["<|end|>"], ["<|end|>rest"]) == ("", "<|end|>"))
        #expect(run(["<|end|>"], ["<|", "end", "|>"]) == ("", "<|end|>"))
    }

    @Test func overlappingPrefixes() {
        // The partial "aa" must not hide the match starting one byte later.
        #expect(run(["aab"], ["a", "a", "a", "b", "c"]) == ("a", "aab"))
        #expect(run(["abab"], ["ab", "ab", "ab"]) == ("", "abab"))
        #expect(run(["abc", "bcd"], ["ab", "cd"]) == ("", "abc"))
    }

    @Test func theStopCompletingFirstWins() {
        // "b" completes before "abc" does; among stops ending together the earliest start wins.
        #expect(run(["abc", "b"], ["abc"]) == ("a", "b"))
        #expect(run(["abc", "b"], ["a", "bc"]) == ("a", "b"))
        #expect(run(["ab", "xab"], ["zxab"]) == ("z", "xab"))
    }

    @Test func noStopPassesEverythingThrough() {
        #expect(run(["STOP"], ["no", " stop ", "here"]) == ("no stop here", nil))
        #expect(run([], ["a", "b"]) == ("ab", nil))
        var matcher = StopMatcher(stops: ["END"])
        #expect(matcher.consume("plain") == .init(text: "plain"))
    }

    @Test func textAfterTheStopIsIgnored() {
        var matcher = StopMatcher(stops: ["."])
        #expect(matcher.consume("One. Two.") == .init(text: "One", stop: "."))
        #expect(matcher.isStopped && matcher.matchedStop == ".")
        #expect(matcher.consume("more") == .init(text: ""))
        #expect(matcher.finish() == "")
    }

    @Test func multiByteCharacters() {
        #expect(run(["été"], ["un ét", "é chaud"]) == ("un ", "été"))
        #expect(run(["🙂"], ["a🙂b"]) == ("a", "🙂"))
        // A held-back tail of multi-byte characters comes back whole.
        #expect(run(["日本語"], ["これは日本", "です"]) == ("これは日本です", nil))
    }

    @Test func resultDoesNotDependOnHowTheTextIsCut() {
        let text = "The answer is 42.\n\nQuestion: why?\n###\nignored"
        let stops = ["###", "\n\nQ", "is 43"]
        let whole = run(stops, [text])
        #expect(whole == ("The answer is 42.", "\n\nQ"))
        let bytes = Array(text)
        for size in 1...7 {
            let chunks = stride(from: 0, to: bytes.count, by: size).map { String(bytes[$0..<min($0 + size, bytes.count)]) }
            #expect(run(stops, chunks) == whole, "chunks of \(size)")
        }
    }

    /// A match `accepts` refuses is passed over as text; the first accepted one stops, in
    /// whatever chunks the text arrives.
    @Test func aRefusedMatchIsPassedOver() {
        // Accept a stop only after an even number of characters (a stand-in for "complete").
        let even: (String) -> Bool = { $0.count % 2 == 0 }
        for size in 1...6 {
            var matcher = StopMatcher(stops: [",", ";;"])
            let text = Array("a,bc,;;d,")
            var out = ""
            var stop: String?
            for start in stride(from: 0, to: text.count, by: size) where stop == nil {
                let output = matcher.consume(String(text[start..<min(start + size, text.count)]), accepts: { even(out + $0) })
                out += output.text
                stop = output.stop
            }
            // "a" (odd) passes the first comma over; "a,bc" (even) stops at the second.
            #expect(out == "a,bc" && stop == ",", "chunks of \(size): \(out) \(stop ?? "-")")
        }
    }
}
