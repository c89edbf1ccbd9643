import Foundation

/// The reference outputs for SmolLM2-135M-Instruct in Tests/Fixtures/reference
/// (copied from shared/reference; see its README for how they were made).
public enum ReferenceData {
    public struct LogitsCase: Decodable, Sendable {
        public var prompt: String
        public var prompt_ids: [Int32]
        /// (id, logit) pairs, best first.
        public var top20: [[Double]]
    }

    public struct GreedyCase: Decodable, Sendable {
        public var prompt: String
        public var kind: String
        public var prompt_ids: [Int32]
        public var n: Int
        public var llama_cpp_text: String
        public var llama_cpp_ids: [Int32]
        public var ref_fp32_ids: [Int32]
        public var ref_fp32_text: String
        public var ref_fp32_margins: [Double]
    }

    /// Gemma 3's greedy cases: llama.cpp's ids only.
    public struct LlamaCppGreedyCase: Decodable, Sendable {
        public var prompt: String
        public var kind: String
        public var prompt_ids: [Int32]
        public var n: Int
        public var llama_cpp_ids: [Int32]
    }

    public struct TokenizeCase: Decodable, Sendable {
        public var text: String
        public var ids: [Int32]
        public var parse_special: Bool
    }

    /// file: under Tests/Fixtures/reference/ (the reference model's; Gemma 3's in gemma3/).
    public static func lines<T: Decodable>(_ file: String, as type: T.Type) throws -> [T] {
        let text = try String(contentsOfFile: Repository.path("Tests/Fixtures/reference/" + file), encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONDecoder().decode(T.self, from: Data($0.utf8)) }
    }

    public static func logits() throws -> [LogitsCase] { try lines("logits.jsonl", as: LogitsCase.self) }
    public static func greedy() throws -> [GreedyCase] { try lines("greedy.jsonl", as: GreedyCase.self) }
    public static func gemmaGreedy() throws -> [LlamaCppGreedyCase] { try lines("gemma3/greedy.jsonl", as: LlamaCppGreedyCase.self) }
    public static func gemmaTokenize() throws -> [TokenizeCase] { try lines("gemma3/tokenize.jsonl", as: TokenizeCase.self) }
}
