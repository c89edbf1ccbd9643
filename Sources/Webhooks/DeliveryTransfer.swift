import CCurl
import Foundation
import JobStore

/// One attempt of one delivery on the wire: the signed request, its easy handle, and
/// how its result becomes a `DeliveryAttemptRecord`.
final class DeliveryTransfer {
    let delivery: ClaimedDelivery
    let easy: CurlEasy
    let startedAt = Date()
    private let started = ContinuousClock.now

    /// Builds the request for `delivery`: `Content-Type: application/json`, the Standard
    /// Webhooks headers signed now, no `Expect: 100-continue` round trip, and the
    /// connection pinned to `addresses` (the ones the guard checked).
    init(delivery: ClaimedDelivery, url: WebhookURL, addresses: [IPAddress],
         configuration: WebhookDispatcherConfiguration) throws {
        self.delivery = delivery
        let body = Array(delivery.payload.utf8)
        var request = HTTPRequest(method: "POST", url: delivery.url, body: body)
        request.headers = [("Content-Type", "application/json"), ("Expect", "")]
        request.headers += configuration.signer.headers(
            webhookID: delivery.webhookID, timestamp: Int64(Date().timeIntervalSince1970), body: body)
        request.connectTimeoutSeconds = configuration.connectTimeout.seconds
        request.totalTimeoutSeconds = configuration.totalTimeout.seconds
        request.followRedirects = false
        request.responseBodyLimit = configuration.responseExcerptBytes
        if IPAddress(url.host) == nil {
            let port = url.port ?? (url.scheme == "https" ? 443 : 80)
            let pinned = addresses.map(\.resolveEntryForm).joined(separator: ",")
            request.resolveOverrides = Set([url.host, url.hostAsWritten, url.host + "."]).sorted().map {
                "\($0):\(port):\(pinned)"
            }
        }
        request.connectOnlyTo = addresses
        easy = try CurlEasy(request)
    }

    var elapsed: Duration { ContinuousClock.now - started }

    /// The attempt's record once libcurl reports the transfer done with `code`.
    func record(code: CURLcode, policy: RetryPolicy) -> DeliveryAttemptRecord {
        let latency = elapsed
        let result: RetryPolicy.Result
        var error: String?
        var status: Int?
        var excerpt: String?
        var remote = easy.remoteAddress
        do {
            let response = try easy.response(for: code)
            status = response.status
            remote = response.remoteAddress ?? remote
            excerpt = response.body.isEmpty ? nil : String(decoding: response.body, as: UTF8.self)  // empty unless asked
            let retryAfter = response.header("retry-after").flatMap { RetryAfter.parse($0, now: Date()) }
            result = .response(status: response.status, retryAfter: retryAfter)
        } catch let failure as HTTPTransferError {
            error = failure.message
            // Refused at connect time: as refused by the guard before sending.
            result = failure.reason == .refusedAddress ? .refused : .transportFailure(failure.kind)
        } catch {
            result = .transportFailure(.transient)  // response(for:) throws nothing else
        }
        let (outcome, reason) = policy.outcome(
            of: result, attempt: delivery.attemptInRound, age: delivery.age + latency, random: Double.random(in: 0..<1))
        if outcome != .delivered {
            // "Timeout was reached: …", "HTTP 503", "HTTP 500; gave up after 8 attempts", "HTTP 404: not retried …"
            var parts: [String] = []
            if let error {
                parts.append(error)
            } else if let status, reason?.hasPrefix("HTTP") != true {
                parts.append("HTTP \(status)")
            }
            if let reason { parts.append(reason) }
            error = parts.joined(separator: "; ")
        }
        return DeliveryAttemptRecord(
            delivery: delivery.fence, outcome: outcome, startedAt: startedAt, latency: latency,
            statusCode: status, remoteAddress: remote, error: error, responseExcerpt: excerpt)
    }
}
