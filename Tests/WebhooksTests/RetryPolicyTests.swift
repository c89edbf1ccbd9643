import Foundation
import JobStore
import Testing
import Webhooks

@Suite struct RetryPolicyTests {
    let policy = RetryPolicy()

    private func outcome(_ result: RetryPolicy.Result, attempt: Int = 1, age: Duration = .zero, random: Double = 0.5)
        -> DeliveryAttemptRecord.Outcome {
        policy.outcome(of: result, attempt: attempt, age: age, random: random).outcome
    }

    @Test func theDefaultScheduleIsTheStandardWebhooksOne() {
        let waits = (1...7).map { outcome(.response(status: 503, retryAfter: nil), attempt: $0) }
        #expect(waits == [5, 300, 1800, 7200, 18000, 36000, 36000].map { .retry(after: .seconds($0)) })
        #expect(policy.outcome(of: .response(status: 503, retryAfter: nil), attempt: 8, age: .zero, random: 0.5)
            == (.dead, "gave up after 8 attempts"))
    }

    @Test func jitterStaysWithinItsBand() {
        #expect(outcome(.transportFailure(.transient), random: 0) == .retry(after: .seconds(4)))
        #expect(outcome(.transportFailure(.transient), random: 0.999_999).retryDelay! < .seconds(6))
        #expect(outcome(.transportFailure(.transient), random: 0.999_999).retryDelay! > .milliseconds(5999))
    }

    @Test func statusCodesAreClassified() {
        #expect(outcome(.response(status: 200, retryAfter: nil)) == .delivered)
        #expect(outcome(.response(status: 204, retryAfter: nil)) == .delivered)
        for status in [408, 429, 500, 502, 503, 599] {
            #expect(outcome(.response(status: status, retryAfter: nil)) == .retry(after: .seconds(5)), "\(status)")
        }
        #expect(policy.outcome(of: .response(status: 410, retryAfter: nil), attempt: 1, age: .zero, random: 0.5)
            == (.dead, "HTTP 410 Gone: the receiver asked not to be called again"))
        #expect(policy.outcome(of: .response(status: 404, retryAfter: nil), attempt: 1, age: .zero, random: 0.5)
            == (.dead, "HTTP 404: not retried (only 408, 429 and 5xx are)"))
        #expect(outcome(.response(status: 301, retryAfter: nil)) == .dead)
        #expect(outcome(.transportFailure(.invalidInput)) == .dead)
        #expect(outcome(.refused) == .refused)
    }

    @Test func retryAfterIsHonouredWithinItsCap() {
        #expect(outcome(.response(status: 429, retryAfter: .seconds(120))) == .retry(after: .seconds(120)))
        // Never earlier than the schedule, never later than maxRetryAfter.
        #expect(outcome(.response(status: 429, retryAfter: .seconds(1))) == .retry(after: .seconds(5)))
        #expect(outcome(.response(status: 503, retryAfter: .seconds(10 * 86400))) == .retry(after: .seconds(86400)))
    }

    @Test func theAgeLimitEndsRetries() {
        let result = policy.outcome(of: .response(status: 500, retryAfter: nil), attempt: 7, age: .seconds(3 * 86400 - 60), random: 0.5)
        #expect(result.outcome == .dead)
        #expect(result.reason?.hasPrefix("gave up: the next attempt would come after the age limit") == true)
    }

    @Test func retryAfterParsesSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 784_111_717)  // Sun, 06 Nov 1994 08:48:37 GMT
        #expect(RetryAfter.parse("120", now: now) == .seconds(120))
        #expect(RetryAfter.parse(" 0 ", now: now) == .seconds(0))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Sun Nov  6 08:49:37 1994", now: now) == .seconds(60))
        #expect(RetryAfter.parse("Sun, 06 Nov 1994 08:00:00 GMT", now: now) == .zero)
        #expect(RetryAfter.parse("-5", now: now) == nil)
        #expect(RetryAfter.parse("soon", now: now) == nil)
    }
}

extension DeliveryAttemptRecord.Outcome {
    var retryDelay: Duration? {
        if case .retry(let after) = self { return after }
        return nil
    }
}

@Suite struct DurationTextTests {
    @Test func operatorDurationsParse() throws {
        #expect(try DurationText.parse("500ms") == .milliseconds(500))
        #expect(try DurationText.parse("5s") == .seconds(5))
        #expect(try DurationText.parse("1.5m") == .seconds(90))
        #expect(try DurationText.parse("2h") == .seconds(7200))
        #expect(try DurationText.parse("3d") == .seconds(3 * 86400))
        #expect(try DurationText.parse("7") == .seconds(7))
        #expect(try DurationText.parseList("5s,5m,30m,2h,5h,10h,10h") == RetryPolicy.standardDelays)
        #expect(throws: DurationText.Invalid.self) { try DurationText.parse("soon") }
        #expect(throws: DurationText.Invalid.self) { try DurationText.parse("-5s") }
    }
}
