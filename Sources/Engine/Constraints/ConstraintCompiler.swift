import Constraints
import Inference
import Synchronization

/// Compiles each distinct constraint once per model and keeps it, with the token masks
/// found under it, for every request that asks for the same one (by `OutputConstraint.key`).
/// Thread-safe: requests are compiled on the threads that prepare them (`Engine.tokenized`)
/// and looked up on the engine's.
public final class ConstraintCompiler: Sendable {
    /// Distinct constraints kept; the least recently used goes first. Each holds its
    /// states and masks (`TokenMaskCache`: at most 16 MB of transitions and 24 MB of masks;
    /// an extraction schema's 128 outputs took 13 MB).
    public static let maximumEntries = 8

    private let tokenizer: Tokenizer
    private let vocabularySize: Int
    private let trie = Mutex<TokenTrie?>(nil)
    private let entries = Mutex<State>(State())

    private struct State {
        /// By key: the outcome, the field the constraint was written in, when last used.
        var compiled: [String: (result: Result<CompiledConstraint, OutputConstraint.Problem>, field: String, used: Int)] = [:]
        var uses = 0
    }

    /// - Parameter vocabularySize: the rows of the model's logits (tokens past the
    ///   tokenizer's are never allowed).
    public init(tokenizer: Tokenizer, vocabularySize: Int) {
        self.tokenizer = tokenizer
        self.vocabularySize = vocabularySize
    }

    /// The compiled constraint, compiling it if no request has asked for it lately.
    /// Refusals are kept too: a thousand jobs with one bad pattern compile it once.
    public func compile(_ constraint: OutputConstraint) throws(OutputConstraint.Problem) -> CompiledConstraint {
        let key = constraint.key
        let known = entries.withLock { state in
            state.uses += 1
            state.compiled[key]?.used = state.uses
            return state.compiled[key].map { ($0.result, $0.field) }
        }
        let result: Result<CompiledConstraint, OutputConstraint.Problem>
        if let (outcome, field) = known {
            // A refusal names the path where this request wrote the constraint.
            result = outcome.mapError { $0.moved(from: field, to: constraint.field) }
        } else {
            do {
                result = .success(try CompiledConstraint(constraint, trie: vocabularyTrie()))
            } catch {
                result = .failure(error)
            }
            entries.withLock { state in
                state.uses += 1
                state.compiled[key] = (result, constraint.field, state.uses)
                if state.compiled.count > Self.maximumEntries,
                   let oldest = state.compiled.min(by: { $0.value.used < $1.value.used })?.key {
                    state.compiled[oldest] = nil
                }
            }
        }
        return try result.get()
    }

    private func vocabularyTrie() -> TokenTrie {
        trie.withLock { trie in
            if let trie { return trie }
            let built = TokenTrie(tokens: (0..<vocabularySize).map { tokenizer.bytes(of: TokenID($0)) })
            trie = built
            return built
        }
    }
}
