import ArgumentParser
import Webhooks

#if canImport(Glibc)
import Glibc
#endif

/// The webhook dispatcher's settings, shared by every command that runs one
/// (`scribe webhooks dispatch`, and the worker).
struct WebhookOptions: ParsableArguments {
    @Option(name: .customLong("webhook-secret"),
            help: "Signing secret whsec_<base64>, repeatable, newest first (default: $SCRIBE_WEBHOOK_SECRETS, comma-separated). Without one the dispatcher does not start, unless --webhook-unsigned.")
    var secrets: [String] = []

    @Flag(name: .customLong("webhook-unsigned"),
          help: "Send webhooks unsigned when no secret is configured (default: $SCRIBE_WEBHOOK_UNSIGNED=1; otherwise no secret is an error).")
    var unsigned = false

    @Option(name: .customLong("webhook-concurrency"), help: "Webhook deliveries in flight at once.")
    var concurrency = 64

    @Option(name: .customLong("webhook-per-host"),
            help: "Webhook deliveries to one host in flight at once, across all workers.")
    var perHost = 16

    @Option(name: .customLong("webhook-connect-timeout"), help: "Seconds to establish a connection to a receiver.")
    var connectTimeout = 5.0

    @Option(name: .customLong("webhook-timeout"), help: "Seconds for a whole webhook attempt.")
    var timeout = 30.0

    @Option(name: .customLong("webhook-retry-schedule"),
            help: "Waits after each failed attempt, the last repeating (e.g. 5s,5m,30m,2h,5h,10h,10h).")
    var retrySchedule = "5s,5m,30m,2h,5h,10h,10h"

    @Option(name: .customLong("webhook-max-attempts"), help: "Attempts before a delivery is dead.")
    var maxAttempts = 8

    @Option(name: .customLong("webhook-max-age"), help: "No retry later than this after the event (e.g. 72h).")
    var maxAge = "72h"

    @Option(name: .customLong("webhook-allow"),
            help: "Receivers to allow inside the default-denied blocks (loopback, private, link-local, ...): host, *.domain, address or CIDR; repeatable (default: $SCRIBE_WEBHOOK_ALLOW, comma-separated).")
    var allow: [String] = []

    @Option(name: .customLong("webhook-deny"),
            help: "Refused receiver: host, *.domain, address or CIDR; repeatable (default: $SCRIBE_WEBHOOK_DENY, comma-separated).")
    var deny: [String] = []

    @Flag(name: .customLong("webhook-only"),
          help: "Send only to the allowed receivers, nowhere else (default: $SCRIBE_WEBHOOK_ONLY=1).")
    var only = false

    @Option(name: .customLong("webhook-store-response"),
            help: "Bytes of each receiver's response to store with the attempt (response_excerpt), at most 65536 (default: $SCRIBE_WEBHOOK_STORE_RESPONSE, else 0: none).")
    var storeResponse: Int?

    func validate() throws {
        guard concurrency > 0 else { throw ValidationError("--webhook-concurrency must be at least 1") }
        guard perHost > 0 else { throw ValidationError("--webhook-per-host must be at least 1") }
        guard connectTimeout > 0, timeout > 0 else { throw ValidationError("webhook timeouts must be positive") }
        guard maxAttempts > 0 else { throw ValidationError("--webhook-max-attempts must be at least 1") }
        guard (0...65536).contains(storeResponse ?? 0) else {
            throw ValidationError("--webhook-store-response must be between 0 and 65536 bytes")
        }
        do {
            guard !(try DurationText.parseList(retrySchedule)).isEmpty else {
                throw ValidationError("--webhook-retry-schedule needs at least one duration")
            }
            _ = try DurationText.parse(maxAge)
            _ = try DestinationGuard(allow: allow, deny: deny, allowListOnly: only)
            _ = try secrets.map(WebhookSecret.init)
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// The destination guard from the flags, else from `SCRIBE_WEBHOOK_ALLOW`, `_DENY`, `_ONLY`.
    func destinations(environment: [String: String]) throws -> DestinationGuard {
        func list(_ flags: [String], _ name: String) -> [String] {
            flags.isEmpty ? (environment[name] ?? "").split(separator: ",").map { $0.filter { !$0.isWhitespace } }
                .filter { !$0.isEmpty } : flags
        }
        do {
            return try DestinationGuard(
                allow: list(allow, "SCRIBE_WEBHOOK_ALLOW"), deny: list(deny, "SCRIBE_WEBHOOK_DENY"),
                allowListOnly: only || environment["SCRIBE_WEBHOOK_ONLY"] == "1")
        } catch {
            throw ValidationError("webhook allow or deny list: \(error)")
        }
    }

    /// The dispatcher's configuration; secrets from the flags, else `SCRIBE_WEBHOOK_SECRETS`.
    func configuration(workerID: String, environment: [String: String]) throws -> WebhookDispatcherConfiguration {
        var configuration = WebhookDispatcherConfiguration(workerID: workerID)
        configuration.maxInFlight = concurrency
        configuration.perDestination.inFlight = perHost
        configuration.connectTimeout = .milliseconds(Int64(connectTimeout * 1000))
        configuration.totalTimeout = .milliseconds(Int64(timeout * 1000))
        configuration.retry = RetryPolicy(
            delays: try DurationText.parseList(retrySchedule), maxAttempts: maxAttempts,
            maxAge: try DurationText.parse(maxAge))
        configuration.destinations = try destinations(environment: environment)
        configuration.responseExcerptBytes = min(65536, max(0, storeResponse
            ?? environment["SCRIBE_WEBHOOK_STORE_RESPONSE"].flatMap { Int($0) } ?? 0))
        let secretList = secrets.isEmpty
            ? try WebhookSecret.list(environment["SCRIBE_WEBHOOK_SECRETS"] ?? "")
            : try secrets.map(WebhookSecret.init)
        // Unsigned webhooks let anyone who can reach a receiver forge Scribe's calls: only when asked.
        guard !secretList.isEmpty || unsigned || environment["SCRIBE_WEBHOOK_UNSIGNED"] == "1" else {
            throw ValidationError("no webhook signing secret: set SCRIBE_WEBHOOK_SECRETS or --webhook-secret "
                + "(`scribe webhooks new-secret` makes one), or send unsigned webhooks with --webhook-unsigned "
                + "(or --no-webhooks to send none from this worker)")
        }
        configuration.signer = WebhookSigner(secrets: secretList)
        return configuration
    }
}

/// `host-pid`: unique enough among the workers of one database.
func defaultWorkerID() -> String {
    var name = [CChar](repeating: 0, count: 256)
    let host = gethostname(&name, name.count) == 0
        ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
    return "\(host)-\(getpid())"
}
