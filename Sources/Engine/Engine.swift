import ScribeCore
import Foundation
import Inference
import Logging

/// Continuous batching: requests join the running batch at any step and leave the moment
/// they finish; every step is one forward call over decode rows and prompt chunks of many
/// sequences. `submit` and `cancel` may be called from any thread; `step` from one thread.
public final class Engine: @unchecked Sendable {
    public let model: Model
    public let configuration: EngineConfiguration
    let context: InferenceContext
    var scheduler: Scheduler
    let workspace: SamplingWorkspace
    /// Every constraint requests have asked for lately, compiled for this model.
    public let constraints: ConstraintCompiler
    let logger: Logger
    let clock = ContinuousClock()

    private let lock = NSLock()
    private var inbox: [(GenerationRequest, ContinuousClock.Instant)] = []
    private var cancellations: [String] = []
    private var inFlight = 0

    var requests: [String: RequestState] = [:]
    var sequences: [SequenceID: SequenceState] = [:]
    var nextSequence = 0
    public internal(set) var statistics = EngineStatistics()

    public init(model: Model, configuration: EngineConfiguration = .init(), logger: Logger) {
        self.model = model
        self.configuration = configuration
        self.logger = logger
        let blockCount = configuration.blockCount(for: model.config)
        let cache = KVCache(config: model.config, blockSize: configuration.blockSize, blockCount: blockCount,
                            precision: configuration.cachePrecision(for: model.weights))
        context = InferenceContext(
            model: model, cache: cache, maxRows: configuration.tokenBudget,
            threads: configuration.threads, batchInvariant: configuration.batchInvariant)
        scheduler = Scheduler(SchedulerConfiguration(
            maxRunning: configuration.maxRunning, tokenBudget: configuration.tokenBudget,
            contextLength: model.config.contextLength, blockSize: configuration.blockSize, blockCount: blockCount))
        workspace = SamplingWorkspace(vocabularySize: model.config.vocabularySize)
        constraints = ConstraintCompiler(tokenizer: model.tokenizer, vocabularySize: model.config.vocabularySize)
    }

    // MARK: - Any thread

    public func submit(_ request: GenerationRequest) {
        lock.withLock {
            inbox.append((request, clock.now))
            inFlight += 1
        }
    }

    /// The request with its prompt as tokens and its constraint compiled. Tokenizing (and
    /// rendering a chat template) takes time in proportion to the prompt, and compiling a
    /// schema in proportion to it, so callers do it on a thread of their own before
    /// `submit`; `step` then only checks the tokens and finds the constraint compiled. A
    /// prompt that cannot be tokenized is returned as it is, and `step` reports why (a
    /// constraint that cannot be compiled too).
    public func tokenized(_ request: GenerationRequest) -> GenerationRequest {
        if let constraint = request.params.constraint { _ = try? constraints.compile(constraint) }
        var prepared = request
        switch request.prompt {
        case .text(let text): prepared.prompt = .tokens(model.promptTokens(text))
        case .messages(let messages): (try? model.promptTokens(messages)).map { prepared.prompt = .tokens($0) }
        case .tokens: break
        }
        return prepared
    }

    /// Stops a waiting or running request at the next step; it ends with its partial text
    /// and finish reason `cancelled`.
    public func cancel(_ requestID: String) {
        lock.withLock { cancellations.append(requestID) }
    }

    /// Requests submitted and not yet returned by `step`.
    public var load: Int { lock.withLock { inFlight } }

    // MARK: - The engine's thread

    public var isIdle: Bool { lock.withLock { inFlight == 0 } }
    public var runningSequences: Int { scheduler.running.count }
    public var usedBlocks: Int { scheduler.blocks.usedBlocks }

    /// Runs one iteration and returns the requests that finished in it.
    public func step() -> [GenerationResult] {
        var finished: [GenerationResult] = []
        let (arrivals, cancelled) = lock.withLock {
            defer { inbox = []; cancellations = [] }
            return (inbox, cancellations)
        }
        for (request, submittedAt) in arrivals {
            if let failure = admit(request, submittedAt: submittedAt) { finished.append(failure) }
        }
        for id in cancelled {
            if let result = cancelRequest(id) { finished.append(result) }
        }
        finished += runStep()
        if !finished.isEmpty {
            lock.withLock { inFlight -= finished.count }
        }
        return finished
    }

    private func admit(_ request: GenerationRequest, submittedAt: ContinuousClock.Instant) -> GenerationResult? {
        let state = RequestState(request: request, submittedAt: submittedAt)
        func failure(_ message: String, kind: FailureKind = .invalidInput) -> GenerationResult {
            state.result(.failure(GenerationError(message, kind: kind)), now: clock.now)
        }
        guard requests[request.id] == nil else {
            return failure("request id \(request.id) is already in flight", kind: .internal)
        }
        do {
            state.promptTokens = switch request.prompt {
            case .text(let text): model.promptTokens(text)
            case .messages(let messages): try model.promptTokens(messages)
            case .tokens(let tokens): tokens
            }
            if let bad = state.promptTokens.first(where: { $0 < 0 || Int($0) >= model.config.vocabularySize }) {
                return failure("prompt token \(bad) is outside the vocabulary of \(model.config.vocabularySize)")
            }
            state.constraint = try request.params.constraint.map(constraints.compile)
            var maxNewTokens = request.params.maxTokens
            if let choices = request.params.scoredChoices {
                // One shared prefill, then each choice's own tokens on a sequence of its own.
                let tokens = choices.map { model.tokenizer.encode($0, parseSpecial: false, addSpecial: false) }
                state.choiceTokens = tokens
                state.completions = Array(repeating: nil, count: tokens.count)
                maxNewTokens = tokens.map(\.count).max() ?? 1
            }
            let first = try makeSequence(for: state, index: 0)
            try scheduler.add(first.id, prompt: state.promptTokens, maxNewTokens: maxNewTokens)
            sequences[first.id] = first
        } catch {
            return failure("\(error)", kind: FailureKind(of: error))
        }
        state.pendingForks = state.completions.count - 1
        requests[request.id] = state
        return nil
    }

    func makeSequence(for request: RequestState, index: Int) throws -> SequenceState {
        let sampler = try SequenceSampler(
            params: request.request.params, vocabularySize: model.config.vocabularySize,
            endOfGeneration: Array(model.tokenizer.endOfGeneration), prompt: request.promptTokens,
            completionIndex: index, constraint: request.constraint, forced: request.choiceTokens?[index])
        nextSequence += 1
        let sequence = SequenceState(
            id: SequenceID(nextSequence), request: request, index: index, sampler: sampler, tokenizer: model.tokenizer)
        request.live.insert(sequence.id)
        return sequence
    }

    private func cancelRequest(_ id: String) -> GenerationResult? {
        guard let request = requests[id] else { return nil }
        for sequenceID in request.live {
            scheduler.remove(sequenceID)
            if let sequence = sequences.removeValue(forKey: sequenceID) {
                request.completions[sequence.index] = sequence.completion(.cancelled, stopReason: nil)
            }
        }
        request.live = []
        for index in request.completions.indices where request.completions[index] == nil {
            request.completions[index] = Completion(index: index, text: "", tokenIDs: [], finishReason: .cancelled)
        }
        return finish(request)
    }

    func finish(_ request: RequestState) -> GenerationResult {
        requests[request.request.id] = nil
        return request.result(.success(request.finalCompletions()), now: clock.now)
    }
}

/// Counters over the engine's life, for benchmarks and metrics.
public struct EngineStatistics: Sendable, Equatable {
    public var steps = 0
    public var rows = 0
    public var promptRows = 0
    public var generatedTokens = 0
    public var preemptions = 0
    /// Rows of the latest forward call.
    public var lastStepRows = 0
    /// Generated tokens per second, smoothed over recent steps.
    public var recentTokensPerSecond = 0.0
}
