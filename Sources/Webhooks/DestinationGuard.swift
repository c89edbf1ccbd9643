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
/// 3. An address in an allowed network is accepted (this is how to open a built-in block,
///    e.g. `--webhook-allow 169.254.10.0/24`).
/// 4. Built-in refusals: link-local and cloud-metadata addresses (`169.254.0.0/16`,
///    `fe80::/10`, `fd00:ec2::254`); loopback (`127.0.0.0/8`, `::1`, `0.0.0.0/8`, `::`)
///    only when `allowLoopback` is false.
/// 5. With a non-empty allow-list, anything neither on it by host name nor by network is
///    refused.
///
/// IPv4-mapped and NAT64 (`64:ff9b::/96`) IPv6 addresses are checked as the IPv4 address
/// they carry.
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
    /// Loopback receivers are allowed by default so that local receivers work; a
    /// multi-tenant deployment should set this to false (`--webhook-deny-loopback`).
    public var allowLoopback = true

    /// The blocks refused unless an allowed network contains the address.
    public static let builtInRefusals: [(network: IPNetwork, why: String)] = [
        (IPNetwork("169.254.0.0/16")!, "link-local, cloud metadata"),
        (IPNetwork("fe80::/10")!, "IPv6 link-local"),
        (IPNetwork("fd00:ec2::254/128")!, "cloud metadata (AWS IPv6)"),
    ]

    static let loopback = ["127.0.0.0/8", "::1/128", "0.0.0.0/8", "::/128"].map { IPNetwork($0)! }

    public init() {}

    /// A guard from the allow and deny lists as users write them: each entry a host name
    /// (`hooks.example.com`), a subdomain pattern (`*.example.com`), an address or a CIDR
    /// block. Throws `HostPattern.Invalid` naming the first entry that is none of these.
    public init(allow: [String], deny: [String], allowLoopback: Bool = true) throws {
        for entry in allow {
            if let network = IPNetwork(entry) { allowedNetworks.append(network) }
            else { allowedHosts.append(try HostPattern(entry)) }
        }
        for entry in deny {
            if let network = IPNetwork(entry) { deniedNetworks.append(network) }
            else { deniedHosts.append(try HostPattern(entry)) }
        }
        self.allowLoopback = allowLoopback
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
        let allowListed = !allowedHosts.isEmpty || !allowedNetworks.isEmpty
        let what = IPAddress(name) == nil ? "host \(name) resolves to \(addressList(addresses)), and " : ""
        for address in addresses.map(\.unmapped) {
            if let network = deniedNetworks.first(where: { $0.contains(address) }) {
                return .refuse("\(what)address \(address) is in \(network), on the webhook deny-list")
            }
            if allowedNetworks.contains(where: { $0.contains(address) }) { continue }
            if let refusal = Self.builtInRefusals.first(where: { $0.network.contains(address) }) {
                return .refuse("\(what)address \(address) is in \(refusal.network) (\(refusal.why)), refused by default")
            }
            if !allowLoopback, let network = Self.loopback.first(where: { $0.contains(address) }) {
                return .refuse("\(what)address \(address) is loopback (\(network)), refused by configuration")
            }
            if allowListed && !hostAllowed {
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
