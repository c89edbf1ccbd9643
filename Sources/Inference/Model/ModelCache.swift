#if canImport(Glibc)
import Glibc
#endif

/// Where fetched models live: `$SCRIBE_HOME/models`, by default `~/.cache/scribe/models`
/// (the same rule as `Ops/setup`, which puts the reference model and Gemma 3 there).
public enum ModelCache {
    public static let referenceModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// The second model Ops/setup fetches: Gemma 3 270M, base, Q4_K_M.
    public static let gemmaModelFile = "gemma-3-270m-q4_k_m.gguf"

    public static func directory(environment: [String: String]) -> String {
        if let home = environment["SCRIBE_HOME"], !home.isEmpty {
            return home + "/models"
        }
        let userHome = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? "/root"
        return userHome + "/.cache/scribe/models"
    }

    /// The model a command uses when none is named: `SCRIBE_MODEL`, else the cached reference model.
    public static func defaultModelPath(environment: [String: String]) -> String {
        if let model = environment["SCRIBE_MODEL"], !model.isEmpty { return model }
        return directory(environment: environment) + "/" + referenceModelFile
    }
}
