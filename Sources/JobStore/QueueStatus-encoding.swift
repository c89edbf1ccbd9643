/// `scribe status --json`: snake_case keys, seconds as numbers, absent values as null.
extension QueueStatus: Encodable {
    private enum Keys: String, CodingKey { case jobs, windows, workers, webhooks }
    private enum JobKeys: String, CodingKey {
        case queued, running, cancelling, scheduledLater = "scheduled_later", oldestQueuedAge = "oldest_queued_age_s"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        var jobs = container.nestedContainer(keyedBy: JobKeys.self, forKey: .jobs)
        try jobs.encode(count(.queued), forKey: .queued)
        try jobs.encode(count(.running), forKey: .running)
        try jobs.encode(count(.cancelling), forKey: .cancelling)
        try jobs.encode(scheduledLater, forKey: .scheduledLater)
        try jobs.encode(oldestQueuedAge, forKey: .oldestQueuedAge)
        try container.encode(windows, forKey: .windows)
        try container.encode(workers, forKey: .workers)
        try container.encode(webhooks, forKey: .webhooks)
    }
}

extension ThroughputWindow: Encodable {
    private enum Keys: String, CodingKey {
        case seconds, finished, succeeded, failed, cancelled
        case completionTokens = "completion_tokens", promptTokens = "prompt_tokens"
        case jobsPerSecond = "jobs_per_s", tokensPerSecond = "tokens_per_s"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(finished, forKey: .finished)
        try container.encode(succeeded, forKey: .succeeded)
        try container.encode(failed, forKey: .failed)
        try container.encode(cancelled, forKey: .cancelled)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(jobsPerSecond, forKey: .jobsPerSecond)
        try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
    }
}

extension WebhookBacklog: Encodable {
    private enum Keys: String, CodingKey {
        case pending, retrying, sending, dead, oldestPendingAge = "oldest_pending_age_s"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(pending, forKey: .pending)
        try container.encode(retrying, forKey: .retrying)
        try container.encode(sending, forKey: .sending)
        try container.encode(dead, forKey: .dead)
        try container.encode(oldestPendingAge, forKey: .oldestPendingAge)
    }
}

extension WorkerRecord: Encodable {
    private enum Keys: String, CodingKey {
        case id, host, pid, version, model, status, stale
        case startedAt = "started_at", runningSequences = "running_sequences",
             tokensPerSecond = "tokens_per_s", heartbeatAge = "heartbeat_age_s"
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(id, forKey: .id)
        try container.encode(host, forKey: .host)
        try container.encode(pid, forKey: .pid)
        try container.encode(version, forKey: .version)
        try container.encode(model, forKey: .model)
        try container.encode(status?.rawValue, forKey: .status)
        try container.encode(isStale, forKey: .stale)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(runningSequences, forKey: .runningSequences)
        try container.encode(tokensPerSecond, forKey: .tokensPerSecond)
        try container.encode(heartbeatAge, forKey: .heartbeatAge)
    }
}
