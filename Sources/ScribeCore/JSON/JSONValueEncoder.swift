extension JSONValue {
    /// How a Codable type's property names become object keys.
    public enum KeyStyle: Sendable {
        /// As the type spells them (its `CodingKeys`).
        case asWritten
        /// `firstToken` as `first_token`, `jobsURL` as `jobs_url`.
        case snakeCase
    }

    /// The value an `Encodable` encodes to: how Codable types reach Scribe's one JSON
    /// writer (`jsonText`, `prettyText`). Optionals encoded with `encodeIfPresent` (the
    /// synthesized default) leave their key out when nil.
    public init(encoding value: some Encodable, keys: KeyStyle = .asWritten) throws {
        let root = EncodingNode()
        try root.encode(value, keys: keys, path: [])
        self = root.value
    }
}

/// A value under construction: containers are filled after they are handed out, so the
/// tree is built of references and read out once at the end.
private final class EncodingNode {
    enum Content {
        case value(JSONValue)
        case object([String: EncodingNode])
        case array([EncodingNode])
    }

    var content = Content.value(.null)

    var value: JSONValue {
        switch content {
        case .value(let value): value
        case .object(let members): .object(members.mapValues(\.value))
        case .array(let items): .array(items.map(\.value))
        }
    }

    func encode(_ value: some Encodable, keys: JSONValue.KeyStyle, path: [any CodingKey]) throws {
        if let json = value as? JSONValue {
            content = .value(json)
        } else {
            try value.encode(to: NodeEncoder(node: self, keys: keys, codingPath: path))
        }
    }

    // Both take the container out of `content` before changing it: left there, it would be
    // shared, and every insertion would copy it (quadratic in a result's logprobs).

    func member(_ key: String) -> EncodingNode {
        guard case .object(var members) = content else { preconditionFailure("not an object") }
        content = .value(.null)
        let child = EncodingNode()
        members[key] = child
        content = .object(members)
        return child
    }

    func appended() -> EncodingNode {
        guard case .array(var items) = content else { preconditionFailure("not an array") }
        content = .value(.null)
        let child = EncodingNode()
        items.append(child)
        content = .array(items)
        return child
    }

    var count: Int {
        if case .array(let items) = content { return items.count }
        return 0
    }
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    let keys: JSONValue.KeyStyle
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = node.content {} else { node.content = .object([:]) }
        return KeyedEncodingContainer(KeyedNodeContainer<Key>(node: node, keys: keys, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = node.content {} else { node.content = .array([]) }
        return UnkeyedNodeContainer(node: node, keys: keys, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeContainer(node: node, keys: keys, codingPath: codingPath)
    }
}

/// The JSON form of every primitive Codable hands a container.
private enum Primitive {
    static func integer(_ value: some BinaryInteger) -> JSONValue {
        if let small = Int64(exactly: value) { return .integer(small) }
        return .unsignedInteger(UInt64(value))
    }

    /// The shortest decimal that reads back as the same Float (0.1, not 0.100000001).
    static func float(_ value: Float) -> JSONValue {
        value.isFinite ? .number(Double("\(value)") ?? Double(value)) : .null
    }
}

private struct KeyedNodeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let keys: JSONValue.KeyStyle
    let codingPath: [any CodingKey]

    private func child(_ key: Key) -> EncodingNode {
        node.member(keys == .snakeCase ? SnakeCase.convert(key.stringValue) : key.stringValue)
    }

    private func set(_ value: JSONValue, _ key: Key) { child(key).content = .value(value) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(.number(value), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(Primitive.float(value), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(Primitive.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(Primitive.integer(value), key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try child(key).encode(value, keys: keys, path: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: child(key), keys: keys, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        NodeEncoder(node: child(key), keys: keys, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.member("super"), keys: keys, codingPath: codingPath)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        NodeEncoder(node: child(key), keys: keys, codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let keys: JSONValue.KeyStyle
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    private func append(_ value: JSONValue) { node.appended().content = .value(value) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(.number(value)) }
    mutating func encode(_ value: Float) throws { append(Primitive.float(value)) }
    mutating func encode(_ value: Int) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: Int8) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: Int16) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: Int32) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: Int64) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: UInt) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: UInt8) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: UInt16) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: UInt32) throws { append(Primitive.integer(value)) }
    mutating func encode(_ value: UInt64) throws { append(Primitive.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.appended().encode(value, keys: keys, path: codingPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        NodeEncoder(node: node.appended(), keys: keys, codingPath: codingPath).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        NodeEncoder(node: node.appended(), keys: keys, codingPath: codingPath).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        NodeEncoder(node: node.appended(), keys: keys, codingPath: codingPath)
    }
}

private struct SingleNodeContainer: SingleValueEncodingContainer {
    let node: EncodingNode
    let keys: JSONValue.KeyStyle
    let codingPath: [any CodingKey]

    private func set(_ value: JSONValue) { node.content = .value(value) }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(.number(value)) }
    mutating func encode(_ value: Float) throws { set(Primitive.float(value)) }
    mutating func encode(_ value: Int) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(Primitive.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(Primitive.integer(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        try node.encode(value, keys: keys, path: codingPath)
    }
}

/// Foundation's `convertToSnakeCase`: a word starts at each capital, and a run of
/// capitals is one word (`jobsURL` → `jobs_url`, `URLString` → `url_string`).
private enum SnakeCase {
    static func convert(_ key: String) -> String {
        let scalars = Array(key.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            let upper = scalar.properties.isUppercase
            if upper, index > 0 {
                let previousLower = !scalars[index - 1].properties.isUppercase && scalars[index - 1] != "_"
                let nextLower = index + 1 < scalars.count && scalars[index + 1].properties.isLowercase
                if previousLower || (nextLower && scalars[index - 1].properties.isUppercase) { out.append("_") }
            }
            if upper {
                out.append(contentsOf: scalar.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }
}
