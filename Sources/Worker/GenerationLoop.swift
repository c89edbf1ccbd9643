import Engine
import Foundation

/// The generation thread: steps the engine while it has work and sleeps when it has none.
/// Finished requests wait in `takeFinished()` for the database side to write them; the
/// engine's figures are read through `snapshot`, copied under the lock after every step,
/// never from the engine itself (it belongs to the generation thread).
final class GenerationLoop: @unchecked Sendable {
    /// The engine's figures as of its latest step.
    struct Snapshot: Sendable, Equatable {
        var runningSequences = 0
        var usedBlocks = 0
        var lastStepRows = 0
        var tokensPerSecond = 0.0
    }

    let engine: Engine
    private let condition = NSCondition()
    private var finished: [GenerationResult] = []
    private var latest = Snapshot()
    private var stopping = false
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    /// Prompts are tokenized here, in order with cancels: the time it takes grows with the
    /// prompt, and on the generation thread it would stall every running sequence.
    private let prompts = DispatchQueue(label: "scribe-prompts")
    /// Called on the generation thread after every step and at least once a second while
    /// idle: the watchdog ping comes from here, so a hung loop stops pinging.
    private let heartbeat: @Sendable (Snapshot) -> Void
    /// Called when finished results are ready to take.
    private let resultsReady: @Sendable () -> Void

    init(engine: Engine, heartbeat: @escaping @Sendable (Snapshot) -> Void,
         resultsReady: @escaping @Sendable () -> Void = {}) {
        self.engine = engine
        self.heartbeat = heartbeat
        self.resultsReady = resultsReady
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "scribe-generation"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    func submit(_ request: GenerationRequest) {
        prompts.async { [self] in
            engine.submit(engine.tokenized(request))
            wake()
        }
    }

    func cancel(_ requestID: String) {
        prompts.async { [self] in
            engine.cancel(requestID)
            wake()
        }
    }

    func takeFinished() -> [GenerationResult] {
        condition.withLock {
            defer { finished = [] }
            return finished
        }
    }

    var snapshot: Snapshot { condition.withLock { latest } }

    /// Ends the thread after its current step.
    func stop() {
        prompts.sync {}
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
            if !engine.isIdle {
                let results = engine.step()
                let snapshot = Snapshot(
                    runningSequences: engine.runningSequences, usedBlocks: engine.usedBlocks,
                    lastStepRows: engine.statistics.lastStepRows, tokensPerSecond: engine.statistics.recentTokensPerSecond)
                condition.withLock {
                    finished += results
                    latest = snapshot
                }
                if !results.isEmpty { resultsReady() }
            }
            heartbeat(snapshot)
        }
        done.signal()
    }
}
