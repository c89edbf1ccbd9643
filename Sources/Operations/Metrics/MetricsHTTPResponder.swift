/// The metrics endpoint's HTTP, as a pure function from request head to response
/// bytes: `GET` or `HEAD /metrics` is the exposition, other paths 404, other methods
/// 405, anything unreadable 400. Every response closes the connection.
enum MetricsHTTPResponder {
    static let path = "/metrics"

    static func response(toHead head: String, exposition: () -> String) -> String {
        // By scalar: "\r\n" is one Character, which a Character-wise search would skip.
        let requestLine = String(head.unicodeScalars.prefix { $0 != "\r" && $0 != "\n" })
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/1."), parts[1].hasPrefix("/") else {
            return response(status: "400 Bad Request", body: "bad request\n")
        }
        let method = parts[0]
        let path = parts[1].prefix { $0 != "?" }
        guard path == Substring(Self.path) else {
            return response(status: "404 Not Found", body: "not found; metrics are at \(Self.path)\n")
        }
        switch method {
        case "GET":
            return response(status: "200 OK", contentType: PrometheusText.contentType, body: exposition())
        case "HEAD":
            return response(status: "200 OK", contentType: PrometheusText.contentType, body: exposition(), headOnly: true)
        default:
            return response(status: "405 Method Not Allowed", body: "use GET\n", extraHeaders: "Allow: GET, HEAD\r\n")
        }
    }

    static func response(
        status: String, contentType: String = "text/plain; charset=utf-8", body: String,
        headOnly: Bool = false, extraHeaders: String = ""
    ) -> String {
        "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
            + extraHeaders + "Connection: close\r\n\r\n" + (headOnly ? "" : body)
    }
}
