import Foundation
import JobStore

/// The worker's chores and when each is next due.
struct PeriodicTasks {
    let configuration: WorkerConfiguration
    private var nextRenewal: ContinuousClock.Instant
    private var nextRescue: ContinuousClock.Instant
    private var nextHeartbeat: ContinuousClock.Instant
    private var nextRetention: ContinuousClock.Instant
    private var nextBatchSweep: ContinuousClock.Instant

    init(configuration: WorkerConfiguration, now: ContinuousClock.Instant) {
        self.configuration = configuration
        nextRenewal = now + configuration.lease / 3
        nextRescue = now
        nextHeartbeat = now + configuration.heartbeatInterval
        nextRetention = now + configuration.retentionInterval / 10
        nextBatchSweep = now
    }

    mutating func run(database: WorkerDatabase, worker: Worker, now: ContinuousClock.Instant) throws {
        if now >= nextRenewal {
            try worker.renewLeases(database)
            nextRenewal = now + configuration.lease / 3
        }
        if now >= nextRescue {
            // Any worker rescues jobs whose holder stopped renewing (killed, hung, cut off).
            try worker.rescueExpiredLeases(database)
            nextRescue = now + configuration.lease / 2 * Double.random(in: 0.8...1.2)
        }
        if now >= nextHeartbeat {
            try worker.heartbeat(database)
            _ = try database.registry.expireStale()
            nextHeartbeat = now + configuration.heartbeatInterval
        }
        if now >= nextBatchSweep {
            // Any worker expires batches past their completion window and stops the
            // requests of cancelled ones (scribe.cancel_batch from SQL leaves that to us).
            _ = try database.batches.sweep()
            nextBatchSweep = now + configuration.batchSweepInterval * Double.random(in: 0.8...1.2)
        }
        if let retention = configuration.retention, now >= nextRetention {
            // The worker holding the retention lock deletes old webhook deliveries too.
            if !(try database.queue.deleteFinished(olderThan: retention)).skipped {
                _ = try database.deliveries.deleteFinished(olderThan: retention)
            }
            nextRetention = now + configuration.retentionInterval
        }
    }
}
