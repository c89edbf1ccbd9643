import ScribeCore
import ArgumentParser
import Engine
import Inference

/// `--model PATH`, defaulting to `$SCRIBE_MODEL` or the cached reference model.
struct ModelOption: ParsableArguments {
    @Option(name: .long, help: "GGUF model file (default: $SCRIBE_MODEL or the cached reference model).")
    var model: String?

    @Option(name: .long, help: ArgumentHelp(
        "How the weight products run (default: $SCRIBE_WEIGHTS or nibble-panels).",
        discussion: """
            nibble-panels: quantized matrices (4-, 5-, 6- and 8-bit) stay quantized and are \
            multiplied by activations quantized to 8 bits, as llama.cpp does, with the integer \
            kernels of $SCRIBE_KERNELS or the best this CPU runs; 2-4 times as fast. panels: \
            every weight dequantized to f32, results equal to an fp32 forward pass. row-major: f32 through OpenBLAS, for \
            comparison. All three are batch-invariant.
            """))
    var weights: WeightMatrix.Layout?

    @Option(name: .long, help: "Threads of the forward pass (default: $SCRIBE_THREADS or one per core).")
    var threads: Int?

    var path: String { model ?? ModelCache.defaultModelPath(environment: ProcessEnvironment.current) }

    /// `--weights`, else $SCRIBE_WEIGHTS, else 4-bit panels.
    var layout: WeightMatrix.Layout {
        weights ?? ProcessEnvironment.current["SCRIBE_WEIGHTS"].flatMap(WeightMatrix.Layout.init(rawValue:)) ?? .nibblePanels
    }

    /// `--threads`, else $SCRIBE_THREADS, else nil: one per core (`EngineConfiguration`).
    var forwardThreads: Int? {
        threads ?? ProcessEnvironment.current["SCRIBE_THREADS"].flatMap { Int($0) }
    }

    /// The engine's threads as this command runs it.
    var engineThreads: Int { EngineConfiguration(threads: forwardThreads).threads }

    func validate() throws {
        if let threads = forwardThreads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        do {
            _ = try KernelSet.selected(environment: ProcessEnvironment.current)
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Loads the whole model; a bad file ends the command with the reason.
    func load(layout: WeightMatrix.Layout? = nil) throws -> Model {
        do {
            return try Model(path: path, layout: layout ?? self.layout)
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

extension WeightMatrix.Layout: ExpressibleByArgument {}
