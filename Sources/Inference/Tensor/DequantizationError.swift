/// Why `Dequantizer.dequantize` refused a tensor: which type, and what was wrong.
public struct DequantizationError: Error, CustomStringConvertible, Sendable, Equatable {
    public var type: GGMLType
    public var reason: String

    public init(type: GGMLType, reason: String) {
        self.type = type
        self.reason = reason
    }

    public var description: String { "cannot dequantize \(type): \(reason)" }
}
