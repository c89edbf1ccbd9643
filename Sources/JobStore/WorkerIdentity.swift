#if canImport(Glibc)
import Glibc
#endif

/// Who a worker process is, as written into `scribe.workers` and `jobs.worker_id`.
public struct WorkerIdentity: Sendable, Equatable {
    /// Unique among all workers ever: `host:pid:random` (see `generateID`).
    public var id: String
    public var host: String
    public var pid: Int32
    public var version: String
    /// The model it serves (what `jobs.model` must be, or NULL, for it to claim).
    public var model: String?
    /// How often it sends heartbeats; others consider it gone after a few missed beats.
    public var heartbeatInterval: Duration

    public init(
        id: String, host: String, pid: Int32, version: String, model: String?, heartbeatInterval: Duration
    ) {
        self.id = id
        self.host = host
        self.pid = pid
        self.version = version
        self.model = model
        self.heartbeatInterval = heartbeatInterval
    }

    /// This process: its host name, its pid and a fresh id.
    public static func current(version: String, model: String?, heartbeatInterval: Duration) -> WorkerIdentity {
        let host = hostName()
        let pid = getpid()
        return WorkerIdentity(
            id: generateID(host: host, pid: pid), host: host, pid: pid, version: version, model: model,
            heartbeatInterval: heartbeatInterval)
    }

    /// `host:pid:4f3a9c1e`: readable in `scribe status` and `jobs.worker_id`, and unique
    /// across restarts (a restarted worker often gets the same pid in a container).
    public static func generateID(host: String, pid: Int32) -> String {
        var generator = SystemRandomNumberGenerator()
        let suffix = String(UInt32.random(in: .min ... .max, using: &generator), radix: 16)
        return "\(host):\(pid):\(String(repeating: "0", count: 8 - suffix.count))\(suffix)"
    }

    /// `gethostname`, or "localhost" if it fails.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// What a worker is doing, as `scribe.workers.status`.
public enum WorkerStatus: String, Sendable, CaseIterable {
    /// Loading the model, connecting: not claiming yet.
    case starting
    case running
    /// Stopping: claims nothing new, finishes or hands back what it runs.
    case draining
}
