import Testing
import TestSupport
import Webhooks

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
