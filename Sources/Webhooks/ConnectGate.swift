import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// The destination guard's last word, said as libcurl opens a socket: only an address the
/// guard checked may be connected to, whatever resolution libcurl did on its own. A host
/// written so that it misses the pinned resolution (a trailing dot, letters libcurl turns
/// into punycode, another case) or a DNS answer that changed since the check (rebinding)
/// then fails the transfer instead of reaching an address nobody checked.
final class ConnectGate {
    /// Compared unmapped: `::ffff:10.0.0.1` is `10.0.0.1`.
    let allowed: Set<IPAddress>
    /// The address refused, when one was; written on the transfer's thread.
    private(set) var refused: IPAddress?

    init(allowed: [IPAddress]) {
        self.allowed = Set(allowed.map(\.unmapped))
    }

    /// CURLOPT_OPENSOCKETFUNCTION: the socket, or CURL_SOCKET_BAD (-1) for an address not allowed.
    static let openSocket: scribe_curl_opensocket_callback = { context, _, address in
        guard let context, let address else { return -1 }
        let gate = Unmanaged<ConnectGate>.fromOpaque(context).takeUnretainedValue()
        let target = IPAddress(socketAddress: address)
        guard let target, gate.allowed.contains(target.unmapped) else {
            gate.refused = target ?? .v4(0)
            return -1
        }
        return socket(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
    }
}

extension IPAddress {
    /// The address libcurl is about to connect to (IPv4 or IPv6); nil for other families.
    init?(socketAddress address: UnsafeMutablePointer<curl_sockaddr>) {
        // libcurl's storage behind `addr` holds a whole sockaddr_in6 (Curl_sockaddr_ex).
        let raw = UnsafeMutableRawPointer(address).advanced(by: MemoryLayout<curl_sockaddr>.offset(of: \.addr)!)
        switch address.pointee.family {
        case AF_INET:
            let v4 = raw.loadUnaligned(as: sockaddr_in.self)
            self = .v4(UInt32(bigEndian: v4.sin_addr.s_addr))
        case AF_INET6:
            var v6 = raw.loadUnaligned(as: sockaddr_in6.self).sin6_addr
            self = .v6(withUnsafeBytes(of: &v6) { Array($0) })
        default:
            return nil
        }
    }
}
