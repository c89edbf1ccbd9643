import ArgumentParser
import Inference

/// `--model PATH`, defaulting to `$SCRIBE_MODEL` or the cached reference model.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: "GGUF model file (default: $SCRIBE_MODEL or the cached reference model).")
    var model: String?

    var path: String { model ?? ModelCache.defaultModelPath(environment: ProcessEnvironment.current) }

    /// Loads the whole model; a bad file ends the command with the reason.
    func load(layout: WeightMatrix.Layout = .panels) throws -> Model {
        do {
            return try Model(path: path, layout: layout)
        } catch {
            throw ValidationError("cannot load model: \(error)")
        }
    }

    /// Only the tokenizer, without dequantizing any weights.
    func loadTokenizer() throws -> Tokenizer {
        do {
            return try Tokenizer(gguf: GGUFFile(path: path))
        } catch {
            throw ValidationError("cannot load tokenizer: \(error)")
        }
    }
}
