import Engine
import JobStore

/// How a worker daemon runs (`scribe worker` flags and their environment defaults).
public struct WorkerConfiguration: Sendable {
    public var engine: EngineConfiguration
    /// Jobs this worker claims: those naming this model, or none.
    public var modelName: String
    public var lease: Duration = .seconds(30)
    public var drainTimeout: Duration = .seconds(60)
    /// How long to wait for a NOTIFY before polling the queue anyway.
    public var pollInterval: Duration = .seconds(1)
    public var heartbeatInterval: Duration = .seconds(10)
    /// Finished jobs and webhook deliveries older than this are deleted; nil keeps them.
    public var retention: Duration? = .seconds(14 * 24 * 3600)
    public var retentionInterval: Duration = .seconds(600)
    /// How often to expire batches past their completion window and stop cancelled ones.
    public var batchSweepInterval: Duration = .seconds(5)
    /// Jobs claimed beyond the running slots, so a new one joins at the very next step.
    public var prefetch: Int
    /// A result larger than this as JSON fails its job with the reason (at most, and by
    /// default, `JobResult.maxStoredBytes`).
    public var maxResultBytes = JobResult.maxStoredBytes

    public init(engine: EngineConfiguration, modelName: String) {
        self.engine = engine
        self.modelName = modelName
        prefetch = max(2, engine.maxRunning / 4)
    }

    /// Jobs held at once: running plus prefetched.
    public var capacity: Int { engine.maxRunning + prefetch }

    /// Jobs held at once when `finishingBurst` jobs tend to finish together: enough waiting
    /// to refill those slots at the next step, up to one more batch. Long jobs finish one or
    /// two at a time and keep the prefetch small, leaving the rest for other workers.
    public func capacity(finishingBurst: Int) -> Int {
        engine.maxRunning + max(prefetch, min(finishingBurst, engine.maxRunning))
    }
}
