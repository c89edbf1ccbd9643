import CCurl

/// Owns one libcurl easy handle configured for one request; the C types stay in this module.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    let sink: TransferSink
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var resolveList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Held for libcurl's socket callback while the handle lives.
    private let gate: ConnectGate?

    static let userAgent = "scribe/\(ScribeVersion.string)"

    init(_ request: HTTPRequest) throws {
        CurlGlobal.initialize()
        guard let handle = curl_easy_init() else {
            throw HTTPTransferError(CURLE_FAILED_INIT, detail: "curl_easy_init failed")
        }
        self.handle = handle
        sink = TransferSink(bodyLimit: request.responseBodyLimit)
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        for entry in request.resolveOverrides {
            resolveList = curl_slist_append(resolveList, entry)
        }
        gate = request.connectOnlyTo.map(ConnectGate.init(allowed:))
        try configure(request)
    }

    deinit {
        curl_easy_cleanup(handle)
        curl_slist_free_all(headerList)
        curl_slist_free_all(resolveList)
        errorBuffer.deallocate()
    }

    private func configure(_ request: HTTPRequest) throws {
        let context = Unmanaged.passUnretained(sink).toOpaque()
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_URL, request.url))
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_CUSTOMREQUEST, request.method))
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_USERAGENT, Self.userAgent))
        try check(scribe_curl_easy_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))
        if resolveList != nil {
            try check(scribe_curl_easy_setopt_slist(handle, CURLOPT_RESOLVE, resolveList))
        }
        if let gate {
            try check(scribe_curl_easy_setopt_opensocket(handle, ConnectGate.openSocket))
            try check(scribe_curl_easy_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, Unmanaged.passUnretained(gate).toOpaque()))
        }
        // Only http(s), also after a redirect, and never through a proxy from the
        // environment (http_proxy ...): the proxy would resolve the name, not us.
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        try check(scribe_curl_easy_setopt_string(handle, CURLOPT_PROXY, ""))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_FOLLOWLOCATION, request.followRedirects ? 1 : 0))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeoutSeconds * 1000)))
        try check(scribe_curl_easy_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(request.totalTimeoutSeconds * 1000)))
        try check(scribe_curl_easy_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, TransferSink.bodyCallback))
        try check(scribe_curl_easy_setopt_pointer(handle, CURLOPT_WRITEDATA, context))
        try check(scribe_curl_easy_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, TransferSink.headerCallback))
        try check(scribe_curl_easy_setopt_pointer(handle, CURLOPT_HEADERDATA, context))
        try check(scribe_curl_easy_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        if request.method != "GET" && request.method != "HEAD" {
            // Size first, then COPYPOSTFIELDS: libcurl keeps its own copy of the body.
            try check(scribe_curl_easy_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
            if request.body.isEmpty {
                try check(scribe_curl_easy_setopt_string(handle, CURLOPT_COPYPOSTFIELDS, ""))
            } else {
                try request.body.withUnsafeBytes {
                    try check(scribe_curl_easy_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)))
                }
            }
        }
    }

    /// Runs the transfer to completion on the calling thread.
    func perform() throws -> HTTPResponse {
        let code = curl_easy_perform(handle)
        return try response(for: code)
    }

    /// The response once libcurl reports the transfer done with `code`.
    func response(for code: CURLcode) throws -> HTTPResponse {
        if code != CURLE_OK, let refused = gate?.refused {
            throw HTTPTransferError(refusedAddress: refused)
        }
        guard code == CURLE_OK else {
            throw HTTPTransferError(code, detail: String(cString: errorBuffer))
        }
        var status = 0
        _ = scribe_curl_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var totalMicroseconds: curl_off_t = 0
        _ = scribe_curl_easy_getinfo_offset(handle, CURLINFO_TOTAL_TIME_T, &totalMicroseconds)
        return HTTPResponse(
            status: status, headers: sink.headers, body: sink.body,
            seconds: Double(totalMicroseconds) / 1e6, remoteAddress: remoteAddress)
    }

    /// The address connected to (CURLINFO_PRIMARY_IP), nil before a connection was made.
    var remoteAddress: String? {
        var text: UnsafeMutablePointer<CChar>?
        guard scribe_curl_easy_getinfo_string(handle, CURLINFO_PRIMARY_IP, &text) == CURLE_OK, let text,
              text.pointee != 0
        else { return nil }
        return String(cString: text)
    }

    private func check(_ code: CURLcode) throws {
        guard code == CURLE_OK else { throw HTTPTransferError(code, detail: "") }
    }
}

/// `curl_global_init` must run once per process before any other libcurl call.
enum CurlGlobal {
    private static let initialized: Bool = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    static func initialize() { _ = initialized }

    /// "libcurl/7.88.1 OpenSSL/3.0.15 zlib/1.2.13 ..."
    static var version: String {
        initialize()
        return String(cString: curl_version())
    }
}

/// Sends requests one at a time on the calling thread (libcurl's easy interface).
public enum HTTPClient {
    public static func send(_ request: HTTPRequest) throws -> HTTPResponse {
        try CurlEasy(request).perform()
    }

    /// libcurl's version line, for `scribe doctor`.
    public static var libraryVersion: String { CurlGlobal.version }
}
