import ScribeCore
import ArgumentParser
import Inference

/// Text on stdin, token ids on stdout as a JSON array.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize", abstract: "Print the token ids of the text on standard input as a JSON array.")

    @OptionGroup var model: ModelOption

    @Flag(help: "Recognise the text of special tokens such as <|im_start|>.")
    var special = false

    @Flag(help: "Add BOS/EOS as the model's metadata asks.")
    var addSpecial = false

    func run() throws {
        let tokenizer = try model.loadTokenizer()
        var bytes: [UInt8] = []
        while let line = readLine(strippingNewline: false) { bytes += Array(line.utf8) }
        let ids = tokenizer.encode(String(decoding: bytes, as: UTF8.self), parseSpecial: special, addSpecial: addSpecial)
        print(JSONValue.array(ids.map { .integer(Int64($0)) }).jsonText)
    }
}
