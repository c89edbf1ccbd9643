import Engine
import Foundation

/// The generation thread: steps the engine while it has work and sleeps when it has none.
/// Finished requests wait in `takeFinished()` for the database side to write them.
final class GenerationLoop: @unchecked Sendable {
    let engine: Engine
    private let condition = NSCondition()
    private var finished: [GenerationResult] = []
    private var stopping = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// Called on the generation thread after every step and at least once a second while
    /// idle: the watchdog ping comes from here, so a hung loop stops pinging.
    private let heartbeat: @Sendable (Engine) -> Void

    init(engine: Engine, heartbeat: @escaping @Sendable (Engine) -> Void) {
        self.engine = engine
        self.heartbeat = heartbeat
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "scribe-generation"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    func submit(_ request: GenerationRequest) {
        engine.submit(request)
        wake()
    }

    func cancel(_ requestID: String) {
        engine.cancel(requestID)
        wake()
    }

    func takeFinished() -> [GenerationResult] {
        condition.withLock {
            defer { finished = [] }
            return finished
        }
    }

    /// Ends the thread after its current step.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
        if thread != nil { done.wait() }
    }

    private func wake() {
        condition.withLock { condition.broadcast() }
    }

    private func run() {
        while true {
            let stop = condition.withLock { () -> Bool in
                while !stopping && engine.isIdle {
                    _ = condition.wait(until: Date().addingTimeInterval(1))
                    if engine.isIdle { break }
                }
                return stopping
            }
            if stop { break }
            if engine.isIdle {
                heartbeat(engine)
                continue
            }
            let results = engine.step()
            if !results.isEmpty {
                condition.withLock { finished += results }
            }
            heartbeat(engine)
        }
        done.signal()
    }
}
