import Foundation

/// Runs `body` on `count` threads of their own (not the test's task pool, whose few
/// threads blocking libpq calls must not occupy) and returns the results in order.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let condition = NSCondition()
    nonisolated(unsafe) var results: [Int: Result<T, Error>] = [:]
    for index in 0..<count {
        Thread.detachNewThread {
            let result = Result { try body(index) }
            condition.lock()
            results[index] = result
            condition.signal()
            condition.unlock()
        }
    }
    condition.lock()
    defer { condition.unlock() }
    let deadline = Date(timeIntervalSinceNow: 60)
    while results.count < count {
        guard condition.wait(until: deadline) else { throw ThreadsTimedOut() }
    }
    return try (0..<count).map { try results[$0]!.get() }
}

struct ThreadsTimedOut: Error {}
