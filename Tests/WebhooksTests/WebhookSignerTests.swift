import Testing
import Webhooks

@Suite struct WebhookSignerTests {
    /// The reference vector of the Standard Webhooks libraries' own tests.
    @Test func signsLikeTheReferenceImplementation() throws {
        let signer = WebhookSigner(secrets: [try WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")])
        let body = Array(#"{"test": 2432232314}"#.utf8)
        #expect(signer.signature(webhookID: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body)
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func severalSecretsGiveSeveralSignaturesNewestFirst() throws {
        let new = WebhookSecret.generate(), old = WebhookSecret.generate()
        let body = Array("{}".utf8)
        let both = WebhookSigner(secrets: [new, old]).signature(webhookID: "msg_1", timestamp: 1, body: body)
        let newOnly = WebhookSigner(secrets: [new]).signature(webhookID: "msg_1", timestamp: 1, body: body)
        let oldOnly = WebhookSigner(secrets: [old]).signature(webhookID: "msg_1", timestamp: 1, body: body)
        #expect(both == newOnly + " " + oldOnly)
        let headers = WebhookSigner(secrets: []).headers(webhookID: "msg_1", timestamp: 7, body: body)
        #expect(headers.map(\.0) == ["webhook-id", "webhook-timestamp"] && headers.map(\.1) == ["msg_1", "7"])
    }

    @Test func secretsParseWithOrWithoutPadding() throws {
        #expect(try WebhookSecret("whsec_AAEC").text == "whsec_AAEC")
        #expect(try WebhookSecret("whsec_AAE").text == "whsec_AAE=")
        let list = try WebhookSecret.list("whsec_AAEC, whsec_AAE=,")
        #expect(list.count == 2)
        #expect(throws: WebhookSecret.Invalid.self) { try WebhookSecret("AAEC") }
        #expect(throws: WebhookSecret.Invalid.self) { try WebhookSecret("whsec_") }
        #expect(throws: WebhookSecret.Invalid.self) { try WebhookSecret("whsec_!!!") }
        #expect(WebhookSecret.generate().description == "whsec_…(32 bytes)")
    }
}
