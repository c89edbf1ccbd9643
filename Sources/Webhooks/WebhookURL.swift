import CCurl

/// The parts of a callback URL the destination guard needs, parsed by libcurl's own URL
/// parser: the guard judges exactly the host libcurl will connect to (two parsers that
/// disagree about a URL are a classic way around SSRF checks).
struct WebhookURL: Sendable, Equatable {
    var scheme: String
    /// The name that is resolved and checked: without brackets for IPv6 literals (`::1`),
    /// lowercase, without a trailing dot. ASCII only: libcurl would convert other letters
    /// to punycode on its own (and this libcurl's CURLU_PUNYCODE cannot say how), so such
    /// a host must be written in punycode (`xn--bcher-kva.example`).
    var host: String
    /// The host as libcurl will look it up (its case, its trailing dot): pins are set for
    /// this spelling as well as for `host`.
    var hostAsWritten: String
    var port: Int?

    /// nil when libcurl cannot parse the URL.
    init?(_ url: String) {
        CurlGlobal.initialize()
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
              let scheme = Self.part(handle, CURLUPART_SCHEME, flags: 0),
              let host = Self.part(handle, CURLUPART_HOST, flags: 0), host.allSatisfy(\.isASCII)
        else { return nil }
        self.scheme = scheme.lowercased()
        hostAsWritten = host
        self.host = HostPattern.normalize(host)
        port = Self.part(handle, CURLUPART_PORT, flags: UInt32(CURLU_DEFAULT_PORT)).flatMap { Int($0) }
    }

    private static func part(_ handle: OpaquePointer, _ what: CURLUPart, flags: UInt32) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(handle, what, &value, flags) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }
}
