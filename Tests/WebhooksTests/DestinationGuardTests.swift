import Testing
@testable import Webhooks

@Suite struct DestinationGuardTests {
    private func decide(using guardrail: DestinationGuard = DestinationGuard(), scheme: String = "https",
                        host: String = "hooks.example.com", _ addresses: [String]) -> DestinationGuard.Decision {
        guardrail.check(scheme: scheme, host: host, addresses: addresses.map { IPAddress($0)! })
    }

    private func reason(_ decision: DestinationGuard.Decision) -> String? {
        if case .refuse(let reason) = decision { return reason }
        return nil
    }

    @Test func addressesAndNetworksParse() {
        #expect(IPAddress("169.254.169.254") == .v4(0xA9FE_A9FE))
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("::ffff:169.254.169.254")?.unmapped == .v4(0xA9FE_A9FE))
        #expect(IPAddress("hooks.example.com") == nil && IPAddress("1.2.3") == nil && IPAddress("") == nil)
        #expect(IPNetwork("10.0.0.0/8")?.contains(IPAddress("10.255.0.1")!) == true)
        #expect(IPNetwork("10.0.0.0/8")?.contains(IPAddress("11.0.0.1")!) == false)
        #expect(IPNetwork("fe80::/10")?.contains(IPAddress("febf::1")!) == true)
        #expect(IPNetwork("fe80::/10")?.contains(IPAddress("fec0::1")!) == false)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("8.8.8.8")!) == true)
        #expect(IPNetwork("0.0.0.0/0")?.contains(IPAddress("::1")!) == false)
        #expect(IPNetwork("192.0.2.1")?.prefixLength == 32)
        #expect(IPNetwork("10.0.0.0/33") == nil && IPNetwork("10.0.0.0/") == nil && IPNetwork("x/8") == nil)
    }

    @Test func publicAddressesAreAllowedByDefault() {
        #expect(decide(["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])
            == .allow([IPAddress("93.184.215.14")!, IPAddress("2606:2800:21f:cb07:6820:80da:af6b:8b2c")!]))
        #expect(decide(scheme: "HTTP", host: "8.8.8.8", ["8.8.8.8"]) == .allow([IPAddress("8.8.8.8")!]))
        // The neighbours of refused blocks are public.
        for address in ["9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
                        "192.167.255.255", "192.169.0.0", "223.255.255.255", "2001:4860:4860::8888", "fbff::1", "fe7f::1"] {
            #expect(decide([address]) == .allow([IPAddress(address)!]), "\(address)")
        }
    }

    /// Deny by default: one address from each block that reaches inside, in every form.
    @Test func everyInsideBlockIsRefusedByDefault() {
        let inside = ["0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.100.100.200", "100.127.255.255",
                      "127.0.0.1", "127.255.0.9", "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.192",
                      "192.168.1.1", "198.18.0.1", "224.0.0.251", "239.255.255.250", "240.0.0.1", "255.255.255.255",
                      "::", "::1", "64:ff9b:1::1", "fc00::1", "fd00:ec2::254", "fe80::1", "fec0::1", "ff02::1",
                      "::ffff:10.0.0.1", "::ffff:127.0.0.1", "64:ff9b::c0a8:101"]
        for address in inside {
            let why = reason(decide([address]))
            #expect(why?.hasSuffix("refused by default: SCRIBE_WEBHOOK_ALLOW opens it") == true, "\(address): \(why ?? "allowed")")
        }
        #expect(reason(decide(host: "localhost", ["127.0.0.1", "::1"]))
            == "host localhost resolves to 127.0.0.1, ::1, and address 127.0.0.1 is in 127.0.0.0/8 (loopback), refused by default: SCRIBE_WEBHOOK_ALLOW opens it")
    }

    /// Every way of writing a refused address is refused: IPv4-mapped and NAT64 IPv6 forms
    /// (checked as the IPv4 address they carry), and the numeric IPv4 forms libcurl's URL
    /// parser turns into dotted quads (`2130706433`, `0x7f.1`, `127.1`, `0177.0.0.1`).
    @Test func everyFormOfARefusedAddressIsRefused() throws {
        for metadata in ["169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe", "64:ff9b::169.254.169.254"] {
            #expect(reason(decide([metadata]))?.contains("169.254.0.0/16") == true, "\(metadata)")
        }
        #expect(IPAddress("64:ff9b::1:a9fe:a9fe")?.unmapped == IPAddress("64:ff9b::1:a9fe:a9fe"))  // not the /96 prefix
        for url in ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/", "http://[64:ff9b::7f00:1]/",
                    "http://[::ffff:127.0.0.1]/", "http://0/", "http://0x0a000001/", "http://[::ffff:a00:1]/", "http://192.168.257/"] {
            let parsed = try #require(WebhookURL(url), "\(url)")
            let address = try #require(IPAddress(parsed.host), "\(url) → \(parsed.host)")
            #expect(reason(decide(scheme: "http", host: parsed.host, [address.description])) != nil, "\(url) → \(address)")
        }
    }

    @Test func onlyHTTPAndHTTPSAreAllowed() {
        #expect(reason(decide(scheme: "file", ["127.0.0.1"])) == "scheme file is not allowed: webhooks use http or https")
        #expect(reason(decide(scheme: "gopher", ["93.184.215.14"])) != nil)
    }

    @Test func metadataAndLinkLocalAddressesAreRefusedByDefault() {
        #expect(reason(decide(host: "169.254.169.254", ["169.254.169.254"]))
            == "address 169.254.169.254 is in 169.254.0.0/16 (link-local, cloud metadata), refused by default: SCRIBE_WEBHOOK_ALLOW opens it")
        #expect(reason(decide(["93.184.215.14", "169.254.169.254"]))?
            .hasPrefix("host hooks.example.com resolves to 93.184.215.14, 169.254.169.254, and address 169.254.169.254 is in 169.254.0.0/16") == true)
        #expect(reason(decide(host: "fd00:ec2::254", ["fd00:ec2::254"]))?.contains("AWS metadata") == true)
        #expect(reason(decide(["fe80::1"]))?.contains("fe80::/10 (IPv6 link-local)") == true)
    }

    /// The allow-list opens blocks: by network for any host, by name for that host except
    /// at link-local addresses (metadata opens only by network).
    @Test func theAllowListOpensBlocks() throws {
        let guardrail = try DestinationGuard(allow: ["127.0.0.1", "10.20.0.0/16", "hooks.internal"], deny: [])
        #expect(decide(using: guardrail, host: "localhost", ["127.0.0.1"]) == .allow([IPAddress("127.0.0.1")!]))
        #expect(reason(decide(using: guardrail, host: "localhost", ["127.0.0.1", "::1"]))?.contains("::1 is in ::1/128 (loopback)") == true)
        #expect(reason(decide(using: guardrail, host: "127.0.0.2", ["127.0.0.2"])) != nil)
        #expect(decide(using: guardrail, host: "any.example", ["10.20.3.4"]) == .allow([IPAddress("10.20.3.4")!]))
        #expect(reason(decide(using: guardrail, host: "any.example", ["10.21.0.1"])) != nil)
        #expect(decide(using: guardrail, host: "HOOKS.internal.", ["192.168.5.5", "fd12::5"])
            == .allow([IPAddress("192.168.5.5")!, IPAddress("fd12::5")!]))
        #expect(reason(decide(using: guardrail, host: "hooks.internal", ["169.254.169.254"]))?.contains("169.254.0.0/16") == true)
        #expect(reason(decide(using: guardrail, host: "other.internal", ["192.168.5.5"])) != nil)
        // Public receivers stay allowed unless the list is the only destinations.
        #expect(decide(using: guardrail, ["93.184.215.14"]) == .allow([IPAddress("93.184.215.14")!]))
    }

    @Test func denyListWinsOverEverything() throws {
        let guardrail = try DestinationGuard(allow: ["10.0.0.0/8", "*.example.com"], deny: ["10.9.0.0/16", "evil.example.com"])
        #expect(reason(decide(using: guardrail, ["10.9.1.1"])) == "host hooks.example.com resolves to 10.9.1.1, and address 10.9.1.1 is in 10.9.0.0/16, on the webhook deny-list")
        #expect(reason(decide(using: guardrail, host: "EVIL.example.com.", ["93.184.215.14"])) == "host evil.example.com is on the webhook deny-list (evil.example.com)")
        #expect(guardrail.precheck(scheme: "https", host: "evil.example.com") != nil)
        #expect(guardrail.precheck(scheme: "https", host: "good.example.com") == nil)
    }

    @Test func anAllowListOnlyGuardAdmitsOnlyItsHostsAndNetworks() throws {
        let guardrail = try DestinationGuard(allow: ["*.example.com", "192.0.2.0/24"], deny: [], allowListOnly: true)
        #expect(decide(using: guardrail, host: "hooks.example.com", ["93.184.215.14"]) == .allow([IPAddress("93.184.215.14")!]))
        #expect(decide(using: guardrail, host: "other.org", ["192.0.2.7"]) == .allow([IPAddress("192.0.2.7")!]))
        #expect(reason(decide(using: guardrail, host: "example.com", ["93.184.215.14"]))
            == "host example.com resolves to 93.184.215.14, and address 93.184.215.14 is not on the webhook allow-list")
        // A host allowed by name still cannot reach metadata addresses...
        #expect(reason(decide(using: guardrail, host: "hooks.example.com", ["169.254.169.254"])) != nil)
        // ...but a network allowed explicitly opens a built-in block.
        let opened = try DestinationGuard(allow: ["169.254.10.0/24"], deny: [], allowListOnly: true)
        #expect(decide(using: opened, host: "169.254.10.5", ["169.254.10.5"]) == .allow([IPAddress("169.254.10.5")!]))
        #expect(reason(decide(using: opened, host: "169.254.169.254", ["169.254.169.254"])) != nil)
    }

    @Test func badListEntriesAreReported() {
        #expect(throws: HostPattern.Invalid.self) { try DestinationGuard(allow: ["http://x"], deny: []) }
        #expect(throws: HostPattern.Invalid.self) { try DestinationGuard(allow: [], deny: ["*."]) }
    }
}
