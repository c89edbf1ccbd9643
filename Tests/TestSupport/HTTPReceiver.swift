import Foundation

/// A real HTTP server on 127.0.0.1 (Ops/webhook-receiver) in a child process, recording
/// every request it answers.
public final class HTTPReceiver: @unchecked Sendable {
    public struct Request: Decodable, Sendable {
        public var method: String
        public var path: String
        public var headers: [String: String]
        public var body: String
        public var status: Int
        /// Unix time at which the request had been read.
        public var receivedAt: Double
        /// With `verifySecrets`: whether every secret verified it (`standardwebhooks`).
        public var verified: Bool?
        public var verifyError: String?

        enum CodingKeys: String, CodingKey {
            case method, path, headers, body, status, verified
            case receivedAt = "received_at", verifyError = "verify_error"
        }
    }

    public let port: Int
    private let process: Process
    private let output: FileHandle
    private let lock = NSLock()
    private var buffer = Data()
    private var received: [Request] = []

    /// - Parameters:
    ///   - responses: status codes answered in order; the last one repeats.
    ///   - retryAfter: sent as `Retry-After` with every non-2xx answer.
    ///   - verifySecrets: `whsec_…` secrets each request's signature is verified with by
    ///     the `standardwebhooks` Python package (`Request.verified`).
    public init(responses: [Int] = [200], delaySeconds: Double = 0, retryAfter: String? = nil,
                verifySecrets: [String] = []) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: Repository.path("Ops/webhook-receiver"))
        process.arguments = ["--port", "0", "--responses", responses.map(String.init).joined(separator: ","),
                             "--delay", String(delaySeconds)]
            + (retryAfter.map { ["--retry-after", $0] } ?? [])
            + verifySecrets.flatMap { ["--verify-secret", $0] }
        let pipe = Pipe()
        process.standardOutput = pipe
        output = pipe.fileHandleForReading
        try process.run()
        // The first line announces the port.
        var line = Data()
        while true {
            let byte = output.readData(ofLength: 1)
            guard let first = byte.first else { throw CocoaError(.fileReadUnknown) }
            if first == UInt8(ascii: "\n") { break }
            line.append(first)
        }
        let words = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard words.count == 2, words[0] == "listening", let port = Int(words[1]) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        self.port = port
        output.readabilityHandler = { [weak self] handle in self?.consume(handle.availableData) }
    }

    deinit {
        output.readabilityHandler = nil
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public var url: String { "http://127.0.0.1:\(port)" }

    private func consume(_ data: Data) {
        lock.lock()
        defer { lock.unlock() }
        buffer.append(data)
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = buffer[buffer.startIndex..<newline]
            buffer = Data(buffer[buffer.index(after: newline)...])
            if let request = try? JSONDecoder().decode(Request.self, from: line) {
                received.append(request)
            }
        }
    }

    /// Requests answered so far, waiting up to `timeout` seconds for at least `count`.
    public func requests(atLeast count: Int = 0, timeout: Double = 10) -> [Request] {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            lock.lock()
            let snapshot = received
            lock.unlock()
            if snapshot.count >= count || Date() > deadline { return snapshot }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }
}
