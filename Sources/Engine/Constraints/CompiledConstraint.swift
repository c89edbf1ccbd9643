import Constraints

/// A constraint compiled for one model: its grammar, the matcher state outputs start in,
/// and the token masks found so far (shared by every sequence under this constraint).
public final class CompiledConstraint: Sendable {
    public let start: GrammarMatcher
    public let masks: TokenMaskCache

    init(_ constraint: OutputConstraint, trie: TokenTrie) throws(OutputConstraint.Problem) {
        let grammar = try constraint.grammar()
        do {
            start = try GrammarMatcher(grammar)
        } catch {
            throw OutputConstraint.Problem(field: constraint.field, message: "\(constraint.field): \(error)")
        }
        masks = TokenMaskCache(trie: trie)
        // The first mask, found now (off the engine's thread when the request is prepared).
        if !start.isComplete && masks.allowedTokens(after: start).isEmpty {
            throw OutputConstraint.Problem(field: constraint.field,
                                           message: "\(constraint.field): no token of this model can begin the output")
        }
    }

    /// Whether `text` as a whole is an output the constraint accepts (complete, not a prefix).
    public func accepts(_ text: String) -> Bool {
        var matcher = start
        return matcher.accept(Array(text.utf8)) && matcher.isComplete
    }
}
