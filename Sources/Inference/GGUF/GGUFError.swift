/// Why a GGUF file was refused: which file, where in it, and what was wrong.
public struct GGUFError: Error, CustomStringConvertible, Sendable, Equatable {
    public var file: String
    public var offset: Int
    public var reason: String

    public init(file: String, offset: Int, reason: String) {
        self.file = file
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "\(file): \(reason) (at byte offset \(offset))" }
}
