import ScribeCore
import CCurl

/// One HTTP request as Scribe sends it.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var connectTimeoutSeconds: Double = 5
    public var totalTimeoutSeconds: Double = 30
    public var followRedirects = false
    /// Response bytes kept; the rest is read and dropped.
    public var responseBodyLimit = 16 * 1024
    /// CURLOPT_RESOLVE entries, `host:port:address[,address]`: connect to these addresses
    /// instead of resolving the host (the destination guard's pinning).
    public var resolveOverrides: [String] = []
    /// When set, a socket is opened only to one of these addresses, checked as libcurl
    /// opens it (`ConnectGate`); any other fails the transfer with `.refusedAddress`.
    public var connectOnlyTo: [IPAddress]?

    public init(method: String = "POST", url: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    /// At most the request's `responseBodyLimit` bytes.
    public var body: [UInt8]
    public var seconds: Double
    /// The address the transfer connected to.
    public var remoteAddress: String?

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// A transfer that did not produce an HTTP response: refused, timed out, bad URL, TLS ...
public struct HTTPTransferError: ClassifiedError, CustomStringConvertible, Sendable {
    public enum Reason: Sendable { case timeout, connection, invalidRequest, refusedAddress, other }
    public var reason: Reason
    /// libcurl's result code, for the log.
    public var code: Int
    public var message: String
    public var description: String { message }
    /// A URL that can never work is the input's fault; no answer may come next time.
    public var kind: FailureKind { reason == .invalidRequest || reason == .refusedAddress ? .invalidInput : .transient }

    init(_ code: CURLcode, detail: String) {
        self.code = Int(code.rawValue)
        switch code {
        case CURLE_OPERATION_TIMEDOUT: reason = .timeout
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_SEND_ERROR,
             CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_SSL_CONNECT_ERROR:
            reason = .connection
        // Not CURLE_UNSUPPORTED_PROTOCOL: the guard refuses other schemes before sending, so
        // libcurl says it only of a reply that is not HTTP (HTTP/0.9): the receiver's
        // trouble, which may pass.
        case CURLE_URL_MALFORMAT: reason = .invalidRequest
        default: reason = .other
        }
        let reason = String(cString: curl_easy_strerror(code))
        message = detail.isEmpty ? reason : "\(reason): \(detail)"
    }

    /// The connect-time check refused `address`: the host resolved to an address the
    /// destination guard never checked.
    init(refusedAddress address: IPAddress) {
        code = Int(CURLE_COULDNT_CONNECT.rawValue)
        reason = .refusedAddress
        message = "connection to \(address) refused: not an address the destination guard checked "
            + "(the host resolved differently when connecting)"
    }
}

/// Shared state of one transfer that libcurl's callbacks write into.
final class TransferSink {
    let bodyLimit: Int
    var body: [UInt8] = []
    var headerLines: [String] = []

    init(bodyLimit: Int) { self.bodyLimit = bodyLimit }

    static let bodyCallback: scribe_curl_data_callback = { pointer, size, count, context in
        let sink = Unmanaged<TransferSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        let room = max(0, sink.bodyLimit - sink.body.count)
        if room > 0, let pointer {
            let bytes = UnsafeRawBufferPointer(start: pointer, count: min(room, length))
            sink.body.append(contentsOf: bytes)
        }
        return length
    }

    static let headerCallback: scribe_curl_data_callback = { pointer, size, count, context in
        let sink = Unmanaged<TransferSink>.fromOpaque(context!).takeUnretainedValue()
        let length = size * count
        if let pointer {
            let bytes = UnsafeRawBufferPointer(start: pointer, count: length)
            sink.headerLines.append(String(decoding: bytes, as: UTF8.self))
        }
        return length
    }

    /// Header fields of the last response (after redirects or `100 Continue`).
    var headers: [(String, String)] {
        var fields: [(String, String)] = []
        for line in headerLines {
            if line.hasPrefix("HTTP/") { fields.removeAll(); continue }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            fields.append((name, value))
        }
        return fields
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
