/// Where webhooks may be sent: the SSRF guard. Its decision is a pure function of the
/// URL's scheme and host and the addresses the host resolved to; the dispatcher resolves
/// the name itself (lowercase, without a trailing dot, as `WebhookURL` normalises it),
/// pins the transfer to the addresses allowed here (CURLOPT_RESOLVE, under every spelling
/// of the host), and checks again as libcurl opens the socket (`ConnectGate`): whatever
/// libcurl resolves on its own, and whatever a DNS answer changed since the check
/// (rebinding), nothing the guard did not see is connected to.
///
/// Rules, first match wins, checked for every resolved address:
/// 1. The scheme must be `http` or `https`.
/// 2. A host on the deny-list, or an address in a denied network, is refused.
/// 3. An address in an allowed network is accepted (how a private block is opened,
///    e.g. `SCRIBE_WEBHOOK_ALLOW=127.0.0.1,10.20.0.0/16`).
/// 4. A host allowed by name is accepted at any address except link-local ones (where
///    cloud metadata services live): those open only by network.
/// 5. Refused by default: every block that reaches inside (`privateBlocks`: loopback,
///    RFC 1918, CGNAT, link-local, ULA, multicast, `0.0.0.0/8`, reserved, metadata).
/// 6. With `allowListOnly`, anything neither on the allow-list by name nor by network is
///    refused.
///
/// IPv4-mapped and NAT64 (`64:ff9b::/96`) IPv6 addresses are checked as the IPv4 address
/// they carry. This is the deny-by-default stance of GitLab's and Stripe's webhook guards:
/// whoever can create a job chooses the URL, so the URL must not reach the host's network.
public struct DestinationGuard: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Send, connecting only to these addresses.
        case allow([IPAddress])
        /// Do not send; the reason is stored on the delivery.
        case refuse(String)
    }

    public var allowedHosts: [HostPattern] = []
    public var allowedNetworks: [IPNetwork] = []
    public var deniedHosts: [HostPattern] = []
    public var deniedNetworks: [IPNetwork] = []
    /// Only the allow-list's hosts and networks are destinations (`--webhook-only`).
    public var allowListOnly = false

    /// A block refused unless an allowed network contains the address; `byName`: whether
    /// a host allowed by name may resolve into it.
    public struct PrivateBlock: Sendable {
        public let network: IPNetwork
        public let why: String
        public let byName: Bool
    }

    /// Everything that is not the public Internet, IANA's special-purpose registries
    /// (RFC 6890) less the documentation and global blocks.
    public static let privateBlocks: [PrivateBlock] = [
        ("0.0.0.0/8", "this network", true),
        ("10.0.0.0/8", "private, RFC 1918", true),
        ("100.64.0.0/10", "carrier-grade NAT, RFC 6598; Alibaba Cloud metadata", true),
        ("127.0.0.0/8", "loopback", true),
        ("169.254.0.0/16", "link-local, cloud metadata", false),
        ("172.16.0.0/12", "private, RFC 1918", true),
        ("192.0.0.0/24", "IETF protocol assignments; Oracle Cloud metadata", true),
        ("192.168.0.0/16", "private, RFC 1918", true),
        ("198.18.0.0/15", "benchmarking, RFC 2544", true),
        ("224.0.0.0/4", "multicast", true),
        ("240.0.0.0/4", "reserved; broadcast", true),
        ("::/128", "unspecified", true),
        ("::1/128", "loopback", true),
        ("64:ff9b:1::/48", "local-use NAT64, RFC 8215", true),
        ("fc00::/7", "unique local, RFC 4193; AWS metadata fd00:ec2::254", true),
        ("fe80::/10", "IPv6 link-local", false),
        ("fec0::/10", "site-local, deprecated", true),
        ("ff00::/8", "multicast", true),
    ].map { PrivateBlock(network: IPNetwork($0.0)!, why: $0.1, byName: $0.2) }

    public init() {}

    /// A guard from the allow and deny lists as users write them: each entry a host name
    /// (`hooks.example.com`), a subdomain pattern (`*.example.com`), an address or a CIDR
    /// block. Throws `HostPattern.Invalid` naming the first entry that is none of these.
    public init(allow: [String], deny: [String], allowListOnly: Bool = false) throws {
        for entry in allow {
            if let network = IPNetwork(entry) { allowedNetworks.append(network) }
            else { allowedHosts.append(try HostPattern(entry)) }
        }
        for entry in deny {
            if let network = IPNetwork(entry) { deniedNetworks.append(network) }
            else { deniedHosts.append(try HostPattern(entry)) }
        }
        self.allowListOnly = allowListOnly
    }

    /// Whether a URL whose host needs no resolution (an address literal) or whose name
    /// alone decides (scheme, deny-listed host) is refused before resolving anything.
    public func precheck(scheme: String, host: String) -> Decision? {
        let scheme = scheme.lowercased()
        guard scheme == "http" || scheme == "https" else {
            return .refuse("scheme \(scheme) is not allowed: webhooks use http or https")
        }
        let name = HostPattern.normalize(host)
        if let pattern = deniedHosts.first(where: { $0.matches(name) }) {
            return .refuse("host \(name) is on the webhook deny-list (\(pattern))")
        }
        return nil
    }

    /// The decision for `host` (as written in the URL) resolved to `addresses`.
    public func check(scheme: String, host: String, addresses: [IPAddress]) -> Decision {
        if let early = precheck(scheme: scheme, host: host) { return early }
        let name = HostPattern.normalize(host)
        guard !addresses.isEmpty else { return .refuse("host \(name) resolved to no address") }
        let hostAllowed = allowedHosts.contains { $0.matches(name) }
        let what = IPAddress(name) == nil ? "host \(name) resolves to \(addressList(addresses)), and " : ""
        for address in addresses.map(\.unmapped) {
            if let network = deniedNetworks.first(where: { $0.contains(address) }) {
                return .refuse("\(what)address \(address) is in \(network), on the webhook deny-list")
            }
            if allowedNetworks.contains(where: { $0.contains(address) }) { continue }
            if let block = Self.privateBlocks.first(where: { $0.network.contains(address) }), !(hostAllowed && block.byName) {
                return .refuse("\(what)address \(address) is in \(block.network) (\(block.why)), refused by default: "
                    + "SCRIBE_WEBHOOK_ALLOW opens it")
            }
            if allowListOnly && !hostAllowed {
                return .refuse("\(what)address \(address) is not on the webhook allow-list")
            }
        }
        return .allow(addresses)
    }

    private func addressList(_ addresses: [IPAddress]) -> String {
        addresses.map(\.description).joined(separator: ", ")
    }
}

/// A host name on an allow or deny list: exact (`hooks.example.com`) or every subdomain
/// (`*.example.com`, which does not match `example.com` itself). Case-insensitive; a
/// trailing dot is ignored.
public struct HostPattern: Hashable, Sendable, CustomStringConvertible {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    let name: String
    let subdomains: Bool

    public init(_ text: String) throws {
        var text = Self.normalize(text)
        subdomains = text.hasPrefix("*.")
        if subdomains { text.removeFirst(2) }
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-._")
        guard !text.isEmpty, text.allSatisfy({ allowed.contains($0) }), !text.hasPrefix(".") else {
            throw Invalid(description: "\"\(text)\" is not a host name, *.domain pattern, address or CIDR block")
        }
        name = text
    }

    public var description: String { subdomains ? "*." + name : name }

    public func matches(_ host: String) -> Bool {
        let host = Self.normalize(host)
        return subdomains ? host.hasSuffix("." + name) : host == name
    }

    static func normalize(_ host: String) -> String {
        var host = host.lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        while host.hasSuffix(".") { host.removeLast() }
        return host
    }
}
