import Crypto
import Foundation

/// A signing secret in the Standard Webhooks form: `whsec_` followed by the key in base64
/// (padding optional). The key is what receivers configure too.
public struct WebhookSecret: Sendable, Equatable, CustomStringConvertible {
    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    let key: [UInt8]

    public init(_ text: String) throws {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard text.hasPrefix("whsec_") else {
            throw Invalid(description: "a webhook secret must look like whsec_<base64>, e.g. one printed by `scribe webhooks new-secret`")
        }
        var encoded = String(text.dropFirst("whsec_".count))
        while encoded.count % 4 != 0 { encoded += "=" }
        guard let key = Data(base64Encoded: encoded), !key.isEmpty else {
            throw Invalid(description: "the part of a webhook secret after whsec_ must be non-empty base64")
        }
        self.key = Array(key)
    }

    /// A new random 32-byte secret.
    public static func generate() -> WebhookSecret {
        var generator = SystemRandomNumberGenerator()
        let key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return try! WebhookSecret("whsec_" + Data(key).base64EncodedString())  // valid by construction
    }

    /// Secrets from `SCRIBE_WEBHOOK_SECRETS`: comma-separated, newest first.
    public static func list(_ text: String) throws -> [WebhookSecret] {
        try text.split(separator: ",").map { String($0) }
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map(WebhookSecret.init)
    }

    /// The `whsec_…` form (what receivers configure).
    public var text: String { "whsec_" + Data(key).base64EncodedString() }

    /// Never the key itself: secrets end up in logs through interpolation otherwise.
    public var description: String { "whsec_…(\(key.count) bytes)" }
}

/// Signs webhooks per the Standard Webhooks specification: `webhook-id`,
/// `webhook-timestamp` (Unix seconds) and `webhook-signature`, which holds
/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` once per secret, space-separated, so
/// receivers keep verifying while a secret is rotated (newest first).
public struct WebhookSigner: Sendable, Equatable {
    public let secrets: [WebhookSecret]

    public init(secrets: [WebhookSecret]) {
        self.secrets = secrets
    }

    /// The three headers for one attempt (without `webhook-signature` when there are no
    /// secrets: the message is then unsigned).
    public func headers(webhookID: String, timestamp: Int64, body: [UInt8]) -> [(String, String)] {
        var headers = [("webhook-id", webhookID), ("webhook-timestamp", String(timestamp))]
        if !secrets.isEmpty {
            headers.append(("webhook-signature", signature(webhookID: webhookID, timestamp: timestamp, body: body)))
        }
        return headers
    }

    public func signature(webhookID: String, timestamp: Int64, body: [UInt8]) -> String {
        let signed = Array("\(webhookID).\(timestamp).".utf8) + body
        return secrets.map { secret in
            let code = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret.key))
            return "v1," + Data(code).base64EncodedString()
        }.joined(separator: " ")
    }
}
