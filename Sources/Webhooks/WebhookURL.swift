import CCurl

/// The parts of a callback URL the destination guard needs, parsed by libcurl's own URL
/// parser: the guard judges exactly the host libcurl will connect to (two parsers that
/// disagree about a URL are a classic way around SSRF checks).
struct WebhookURL: Sendable, Equatable {
    var scheme: String
    /// Without brackets for IPv6 literals (`::1`), lowercase as libcurl normalises it.
    var host: String
    var port: Int?

    /// nil when libcurl cannot parse the URL.
    init?(_ url: String) {
        CurlGlobal.initialize()
        guard let handle = curl_url() else { return nil }
        defer { curl_url_cleanup(handle) }
        guard curl_url_set(handle, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
              let scheme = Self.part(handle, CURLUPART_SCHEME, flags: 0),
              let host = Self.part(handle, CURLUPART_HOST, flags: 0)
        else { return nil }
        self.scheme = scheme.lowercased()
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
