import CCurl
import Foundation
import JobStore
import ScribeCore
import Testing
import TestSupport
@testable import Webhooks

/// The connect-time check: whatever libcurl resolves on its own, a socket opens only to
/// an address the destination guard checked.
@Suite struct ConnectGateTests {
    @Test func aCheckedAddressIsConnectedTo() throws {
        let receiver = try HTTPReceiver(responses: [204])
        var request = HTTPRequest(url: receiver.url + "/ok")
        request.connectOnlyTo = [IPAddress("127.0.0.1")!]
        #expect(try HTTPClient.send(request).status == 204)
    }

    @Test func anAddressNobodyCheckedIsNeverConnectedTo() throws {
        let receiver = try HTTPReceiver(responses: [200])
        var request = HTTPRequest(url: receiver.url + "/inside")
        request.connectOnlyTo = [IPAddress("127.0.0.2")!, IPAddress("::ffff:127.0.0.3")!]
        let error = #expect(throws: HTTPTransferError.self) { try HTTPClient.send(request) }
        #expect(error?.reason == .refusedAddress && error?.kind == .invalidInput)
        #expect(error?.message.hasPrefix("connection to 127.0.0.1 refused") == true, "\(String(describing: error))")
        #expect(receiver.requests(timeout: 0.5).isEmpty)
    }

    /// The bypass: a host spelled so that libcurl does not use the pinned resolution
    /// (trailing dot) makes libcurl resolve it itself, here to 127.0.0.1, which the guard
    /// never checked (it checked 127.0.0.2, as a DNS answer that changed would have it).
    @Test func aHostThatMissesThePinStillReachesOnlyCheckedAddresses() throws {
        let receiver = try HTTPReceiver(responses: [200])
        let port = receiver.port
        for host in ["localhost.", "LOCALHOST", "localhost"] {
            var request = HTTPRequest(url: "http://\(host):\(port)/rebound")
            request.resolveOverrides = ["somewhere-else:\(port):127.0.0.2"]
            request.connectOnlyTo = [IPAddress("127.0.0.2")!]
            #expect(throws: HTTPTransferError.self) { try HTTPClient.send(request) }
        }
        #expect(receiver.requests(timeout: 0.5).isEmpty)
    }

    /// A host spelled with a capital and a trailing dot still goes through the pin, to the
    /// checked address: `.invalid` never resolves, so only the pin can have connected it.
    @Test func aTrailingDotHostIsDeliveredThroughItsPin() throws {
        let receiver = try HTTPReceiver(responses: [200])
        let delivery = ClaimedDelivery(
            id: 2, webhookID: "msg_2", eventType: "job.succeeded", subjectType: "job", subjectID: 2,
            url: "http://Pinned.invalid.:\(receiver.port)/hook", payload: "{}", attempt: 1, attemptInRound: 1, age: .zero)
        let url = try #require(WebhookURL(delivery.url))
        let transfer = try DeliveryTransfer(
            delivery: delivery, url: url, addresses: [IPAddress("127.0.0.1")!],
            configuration: WebhookDispatcherConfiguration(workerID: "w"))
        let record = transfer.record(code: curl_easy_perform(transfer.easy.handle), policy: RetryPolicy())
        #expect(record.outcome == .delivered, "\(record.error ?? "")")
        #expect(receiver.requests(atLeast: 1).map(\.path) == ["/hook"])
    }

    @Test func aDeliveryRefusedAtConnectTimeIsRecordedAsRefused() throws {
        let receiver = try HTTPReceiver(responses: [200])
        let delivery = ClaimedDelivery(
            id: 1, webhookID: "msg_1", eventType: "job.succeeded", subjectType: "job", subjectID: 1,
            url: receiver.url + "/hook", payload: "{}", attempt: 1, attemptInRound: 1, age: .zero)
        let url = try #require(WebhookURL(delivery.url))
        // As if the guard had approved another address than the one the URL names.
        let transfer = try DeliveryTransfer(
            delivery: delivery, url: url, addresses: [IPAddress("127.0.0.2")!],
            configuration: WebhookDispatcherConfiguration(workerID: "w"))
        let code = curl_easy_perform(transfer.easy.handle)
        let record = transfer.record(code: code, policy: RetryPolicy())
        #expect(record.outcome == .refused)
        #expect(record.error?.contains("not an address the destination guard checked") == true, "\(record.error ?? "")")
        #expect(receiver.requests(timeout: 0.5).isEmpty)
    }
}

extension ConnectGateTests {
    /// Host forms are judged as libcurl will use them: lowercase, no trailing dot; the
    /// spelling libcurl looks up is kept for the pin. Non-ASCII hosts are refused (libcurl
    /// would turn them into punycode on its own); written in punycode they pass.
    @Test func hostFormsAreNormalisedAsLibcurlUsesThem() throws {
        #expect(WebhookURL("http://bücher.example/hook") == nil)
        let idn = try #require(WebhookURL("http://XN--bcher-kva.Example./hook"))
        #expect(idn.host == "xn--bcher-kva.example")
        #expect(idn.hostAsWritten == "XN--bcher-kva.Example.")
        let dotted = try #require(WebhookURL("https://HOOKS.example.com.:8443/x"))
        #expect(dotted.host == "hooks.example.com" && dotted.port == 8443)
        #expect(try #require(WebhookURL("http://[::ffff:169.254.169.254]/")).host == "::ffff:169.254.169.254")
    }
}
