/// A loaded model: hyperparameters, f32 weights, tokenizer and chat template. Loaded once
/// per process and shared read-only by everything in it.
public final class Model: Sendable {
    public let config: ModelConfig
    public let weights: ModelWeights
    public let tokenizer: Tokenizer
    /// The chat template named by `tokenizer.chat_template`, or Gemma's for a gemma3 file
    /// without one; an error when the file has none or an unknown one, which fails chat
    /// requests only.
    public let chatTemplate: Result<ChatTemplate, ChatTemplateError>
    /// `general.name`, or the file name.
    public let name: String

    public init(config: ModelConfig, weights: ModelWeights, tokenizer: Tokenizer,
                chatTemplate: Result<ChatTemplate, ChatTemplateError>, name: String) {
        self.config = config
        self.weights = weights
        self.tokenizer = tokenizer
        self.chatTemplate = chatTemplate
        self.name = name
    }

    /// - Parameter layout: how the product weights are stored.
    public convenience init(gguf file: GGUFFile, layout: WeightMatrix.Layout = .nibblePanels) throws {
        let config = try ModelConfig(gguf: file)
        let template: Result<ChatTemplate, ChatTemplateError>
        if let source = file.metadata["tokenizer.chat_template"]?.string {
            do { template = .success(try ChatTemplate.detect(from: source)) } catch let error as ChatTemplateError {
                template = .failure(error)
            }
        } else if config.architecture == .gemma3 {
            // Gemma files often carry no template; the family has one turn format.
            template = .success(ChatTemplate(family: .gemma))
        } else {
            template = .failure(.unknownTemplate("(the model file has no tokenizer.chat_template)"))
        }
        try self.init(
            config: config, weights: ModelWeights(gguf: file, config: config, layout: layout), tokenizer: Tokenizer(gguf: file),
            chatTemplate: template,
            name: file.metadata["general.name"]?.string ?? String(file.path.split(separator: "/").last ?? ""))
    }

    public convenience init(path: String, layout: WeightMatrix.Layout = .nibblePanels) throws {
        try self.init(gguf: GGUFFile(path: path), layout: layout)
    }

    /// Prompt tokens of a raw prompt: special-token text is recognised, as llama.cpp and vLLM do.
    public func promptTokens(_ text: String) -> [TokenID] {
        tokenizer.encode(text, parseSpecial: true, addSpecial: true)
    }

    /// Prompt tokens of a conversation rendered with the model's chat template; message
    /// content cannot inject special tokens.
    public func promptTokens(_ messages: [ChatMessage]) throws -> [TokenID] {
        let template = try chatTemplate.get()
        return tokenizer.encode(try template.render(messages, addGenerationPrompt: true), addSpecial: true)
    }
}
