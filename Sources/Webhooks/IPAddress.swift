#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, parsed and printed with `inet_pton`/`inet_ntop`.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// Network byte order folded into a number: 169.254.169.254 is 0xA9FE_A9FE.
    case v4(UInt32)
    /// Sixteen bytes, most significant first.
    case v6([UInt8])

    /// `"127.0.0.1"`, `"::1"`, `"[::1]"` (URL form); nil for anything else (host names,
    /// zone ids, bad syntax).
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            self = .v4(UInt32(bigEndian: v4.s_addr))
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, String(text), &v6) == 1 {
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch self {
        case .v4(let value):
            var address = in_addr(s_addr: value.bigEndian)
            inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        case .v6(let bytes):
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes) }
            inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The address as a connection reaches it: an IPv4-mapped IPv6 address
    /// (`::ffff:169.254.169.254`) and a NAT64 address of the well-known prefix
    /// (`64:ff9b::a9fe:a9fe`, RFC 6052, which a NAT64 gateway translates) are the IPv4
    /// address they carry, so that checks of IPv4 networks cannot be sidestepped by
    /// writing the address in IPv6 form.
    public var unmapped: IPAddress {
        guard case .v6(let bytes) = self else { return self }
        let mapped = bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF
        let nat64 = bytes[0..<4] == [0x00, 0x64, 0xFF, 0x9B] && bytes[4..<12].allSatisfy({ $0 == 0 })
        guard mapped || nat64 else { return self }
        return .v4(bytes[12..<16].reduce(0) { $0 << 8 | UInt32($1) })
    }

    /// The form CURLOPT_RESOLVE wants: IPv6 in brackets.
    var resolveEntryForm: String {
        switch self {
        case .v4: description
        case .v6: "[\(description)]"
        }
    }
}

/// An address block in CIDR notation (`169.254.0.0/16`, `fe80::/10`); a bare address is
/// a block of one (`/32`, `/128`).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(String(parts[0])) else { return nil }
        let maximum = if case .v4 = address { 32 } else { 128 }
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.address = address
    }

    public var description: String { "\(address)/\(prefixLength)" }

    /// Whether `candidate` (taken `unmapped`) lies in this block. IPv4 blocks contain only
    /// IPv4 addresses and IPv6 blocks only IPv6 ones.
    public func contains(_ candidate: IPAddress) -> Bool {
        switch (address, candidate.unmapped) {
        case (.v4(let base), .v4(let value)):
            guard prefixLength > 0 else { return true }
            let mask = UInt32.max << UInt32(32 - prefixLength)
            return base & mask == value & mask
        case (.v6(let base), .v6(let value)):
            var remaining = prefixLength
            for index in 0..<16 where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if base[index] & mask != value[index] & mask { return false }
                remaining -= bits
            }
            return true
        default:
            return false
        }
    }
}
