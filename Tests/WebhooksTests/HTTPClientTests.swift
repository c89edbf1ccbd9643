import Foundation
import ScribeCore
import Testing
import TestSupport
import Webhooks
#if canImport(Glibc)
import Glibc
#endif

@Suite struct HTTPClientTests {
    @Test func postsTheBodyAndHeadersAndReadsTheResponse() throws {
        let receiver = try HTTPReceiver(responses: [202])
        let body = #"{"hello": "wörld"}"#
        var request = HTTPRequest(url: receiver.url + "/hooks/1", body: Array(body.utf8))
        request.headers = [("Content-Type", "application/json"), ("X-Test", "yes")]
        let response = try HTTPClient.send(request)
        #expect(response.status == 202)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"received": true}"#)
        #expect(response.header("content-type") == "application/json")
        let seen = receiver.requests(atLeast: 1)
        #expect(seen.count == 1)
        #expect(seen.first?.method == "POST")
        #expect(seen.first?.path == "/hooks/1")
        #expect(seen.first?.body == body)
        #expect(seen.first?.headers["x-test"] == "yes")
        #expect(seen.first?.headers["user-agent"]?.hasPrefix("scribe/") == true)
    }

    @Test func responseBodiesAreCapped() throws {
        let receiver = try HTTPReceiver()
        var request = HTTPRequest(url: receiver.url)
        request.responseBodyLimit = 5
        let response = try HTTPClient.send(request)
        #expect(response.body == Array(#"{"rec"#.utf8))
    }

    @Test func aRefusedConnectionIsAConnectionError() throws {
        // Bind-and-close finds a port nobody listens on.
        let receiver = try HTTPReceiver()
        let url = receiver.url
        _ = consume receiver
        let error = #expect(throws: HTTPTransferError.self) {
            try HTTPClient.send(HTTPRequest(url: url))
        }
        #expect(error?.reason == .connection)
    }

    /// Found by Ops/chaos: a receiver answering with bytes that are not HTTP was given up at
    /// once, as if the URL could never work.
    @Test func aReplyThatIsNotHTTPIsWorthRetrying() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try #require(withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length) == 0 && listen(listener, 1) == 0 && getsockname(listener, $0, &length) == 0
            }
        })
        let port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread {
            let connection = accept(listener, nil, nil)
            var request = [UInt8](repeating: 0, count: 4096)
            _ = read(connection, &request, request.count)
            let garbage = Array("this is not HTTP\r\n\r\n".utf8)
            _ = write(connection, garbage, garbage.count)
            close(connection)
        }
        let error = #expect(throws: HTTPTransferError.self) {
            try HTTPClient.send(HTTPRequest(url: "http://127.0.0.1:\(port)/"))
        }
        #expect(error?.kind == .transient, "\(String(describing: error))")
    }

    @Test func aSlowReceiverTimesOut() throws {
        let receiver = try HTTPReceiver(delaySeconds: 3)
        var request = HTTPRequest(url: receiver.url)
        request.totalTimeoutSeconds = 0.3
        let error = #expect(throws: HTTPTransferError.self) { try HTTPClient.send(request) }
        #expect(error?.reason == .timeout)
    }

    @Test func libraryVersionIsReported() {
        #expect(HTTPClient.libraryVersion.hasPrefix("libcurl/"))
    }
}
