import ScribeCore
import Inference

/// Identifies one sequence (one completion) inside the engine.
public struct SequenceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(_ rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: SequenceID, b: SequenceID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "s\(rawValue)" }
}

public struct SchedulerConfiguration: Sendable, Equatable {
    /// Sequences generating at once.
    public var maxRunning: Int
    /// Rows (tokens) per forward call: one per decoding sequence, the rest for prompt chunks.
    public var tokenBudget: Int
    public var contextLength: Int
    public var blockSize: Int
    public var blockCount: Int

    public init(maxRunning: Int, tokenBudget: Int, contextLength: Int, blockSize: Int, blockCount: Int) {
        precondition(maxRunning >= 1 && tokenBudget >= maxRunning, "the token budget must cover one row per running sequence")
        self.maxRunning = maxRunning
        self.tokenBudget = tokenBudget
        self.contextLength = contextLength
        self.blockSize = blockSize
        self.blockCount = blockCount
    }
}

/// Work for one sequence in one step: tokens `start..<start + tokens.count` of the sequence.
public struct ScheduledChunk: Equatable, Sendable {
    public var sequence: SequenceID
    public var start: Int
    public var tokens: [TokenID]
    /// The chunk ends at the sequence's last token, so its logits pick the next token.
    public var wantsLogits: Bool
    public var blockTable: [Int32]

    public init(sequence: SequenceID, start: Int, tokens: [TokenID], wantsLogits: Bool, blockTable: [Int32]) {
        self.sequence = sequence
        self.start = start
        self.tokens = tokens
        self.wantsLogits = wantsLogits
        self.blockTable = blockTable
    }
}

/// What the engine must do for one forward call.
public struct Step: Sendable {
    public var chunks: [ScheduledChunk] = []
    /// Sequences that lost their cache this step; they will be recomputed later.
    public var preempted: [SequenceID] = []
    /// Cache blocks to copy before the forward call (copy-on-write).
    public var copies: [BlockCopy] = []
    public var rowCount: Int { chunks.reduce(0) { $0 + $1.tokens.count } }
    public var isEmpty: Bool { chunks.isEmpty }
}

public struct BlockCopy: Equatable, Sendable {
    public var source: Int32
    public var destination: Int32
    public var positions: Int

    public init(source: Int32, destination: Int32, positions: Int) {
        self.source = source
        self.destination = destination
        self.positions = positions
    }
}

/// Why a sequence cannot be accepted at all.
public struct AdmissionError: ClassifiedError, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    /// A sequence that can never fit (its prompt and tokens exceed the cache) is the request's fault.
    public var kind: FailureKind { .invalidInput }
}

/// Iteration-level scheduling (Orca/vLLM) as a pure state machine: each `schedule()` combines
/// one decode row for every running sequence with prompt chunks of waiting ones under a
/// token budget; `completed` feeds back what the step produced. New sequences join at the next
/// step, finished ones leave at once. When cache blocks run out the newest sequences are
/// preempted and later recomputed, so nothing fails for lack of cache and nothing deadlocks.
public struct Scheduler: Sendable {
    public let configuration: SchedulerConfiguration
    public private(set) var blocks: BlockManager

    struct Entry: Sendable {
        var arrival: Int
        /// Prompt followed by every generated token.
        var tokens: [TokenID]
        /// Tokens whose keys and values are in the cache.
        var computed = 0
        var blocks: [Int32] = []
        var preemptions = 0
        /// Positions taken from the prefix cache at the first admission.
        var reused: Int?
    }

    private var entries: [SequenceID: Entry] = [:]
    /// Oldest first.
    public private(set) var waiting: [SequenceID] = []
    /// In admission order: the newest is preempted first.
    public private(set) var running: [SequenceID] = []
    private var arrivals = 0
    /// Positions served from the prefix cache, for statistics.
    public private(set) var reusedPositions = 0

    public init(_ configuration: SchedulerConfiguration) {
        self.configuration = configuration
        blocks = BlockManager(blockSize: configuration.blockSize, blockCount: configuration.blockCount)
    }

    public var isIdle: Bool { waiting.isEmpty && running.isEmpty }

    public func tokens(of id: SequenceID) -> [TokenID]? { entries[id]?.tokens }
    public func preemptions(of id: SequenceID) -> Int { entries[id]?.preemptions ?? 0 }
    /// Prompt positions served from the prefix cache when the sequence was first admitted.
    public func reusedPositions(of id: SequenceID) -> Int { entries[id]?.reused ?? 0 }

    // MARK: - Events

    /// A new sequence; it may generate up to `maxNewTokens` tokens after `prompt`.
    public mutating func add(_ id: SequenceID, prompt: [TokenID], maxNewTokens: Int) throws(AdmissionError) {
        precondition(entries[id] == nil, "sequence \(id) added twice")
        guard !prompt.isEmpty else { throw AdmissionError(description: "the prompt is empty") }
        let total = prompt.count + maxNewTokens
        guard total <= configuration.contextLength else {
            throw AdmissionError(description:
                "prompt (\(prompt.count) tokens) + max_tokens (\(maxNewTokens)) = \(total) exceeds the model's context length of \(configuration.contextLength)")
        }
        guard blocks.blocksNeeded(forPositions: total) <= configuration.blockCount else {
            throw AdmissionError(description:
                "prompt + max_tokens needs \(blocks.blocksNeeded(forPositions: total)) cache blocks; the cache has \(configuration.blockCount)")
        }
        arrivals += 1
        entries[id] = Entry(arrival: arrivals, tokens: prompt)
        waiting.append(id)
    }

    /// A sequence that shares everything `parent` has computed and continues with `firstToken`
    /// (several completions of one prompt). Its blocks are shared copy-on-write.
    public mutating func fork(_ parent: SequenceID, as child: SequenceID, firstToken: TokenID) {
        guard let source = entries[parent], running.contains(parent) else { return }
        precondition(entries[child] == nil, "sequence \(child) added twice")
        var entry = Entry(arrival: source.arrival, tokens: Array(source.tokens[0..<source.computed]) + [firstToken])
        entry.computed = source.computed
        entry.blocks = source.blocks
        entry.blocks.forEach { blocks.retain($0) }
        entries[child] = entry
        running.insert(child, at: running.firstIndex(of: parent)! + 1)
    }

    /// The sequence finished or was cancelled: it leaves now and its blocks are freed
    /// (full ones stay reusable in the prefix pool).
    public mutating func remove(_ id: SequenceID) {
        guard let entry = entries.removeValue(forKey: id) else { return }
        entry.blocks.forEach { blocks.release($0) }
        waiting.removeAll { $0 == id }
        running.removeAll { $0 == id }
    }

    /// The step ran: chunks' tokens are now cached, and `sampled` holds the next token of every
    /// sequence whose chunk wanted logits and that goes on.
    public mutating func completed(_ step: Step, sampled: [SequenceID: TokenID]) {
        for chunk in step.chunks {
            guard var entry = entries[chunk.sequence], entry.computed == chunk.start else { continue }
            entry.computed += chunk.tokens.count
            // Newly full blocks become findable by later prompts with the same prefix.
            let firstFull = chunk.start / configuration.blockSize
            let lastFull = entry.computed / configuration.blockSize
            for index in firstFull..<lastFull where index < entry.blocks.count {
                blocks.register(entry.blocks[index], tokens: entry.tokens, blockIndex: index)
            }
            if chunk.wantsLogits, let token = sampled[chunk.sequence] {
                entry.tokens.append(token)
            }
            entries[chunk.sequence] = entry
        }
    }

    // MARK: - Planning a step

    public mutating func schedule() -> Step {
        var step = Step()
        var budget = configuration.tokenBudget
        // 1. One decode row for every running sequence whose prompt is computed.
        var index = 0
        while index < running.count {
            let id = running[index]
            let entry = entries[id]!
            if entry.computed == entry.tokens.count - 1 {
                if reserve(id, positions: 1, step: &step) {
                    step.chunks.append(chunk(id, count: 1))
                    budget -= 1
                } else if !running.contains(id) {
                    continue  // it preempted itself; `index` now points at the next one
                }
            }
            index += 1
        }
        // 2. Prompt chunks of running sequences still prefilling, oldest first.
        for id in running where budget > 0 {
            let entry = entries[id]!
            guard entry.computed < entry.tokens.count - 1 else { continue }
            let count = min(entry.tokens.count - entry.computed, budget)
            if reserve(id, positions: count, step: &step), running.contains(id) {
                step.chunks.append(chunk(id, count: count))
                budget -= count
            }
        }
        // 3. Admit waiting sequences in arrival order while blocks and budget allow.
        while budget > 0, running.count < configuration.maxRunning, let id = waiting.first, admit(id) {
            waiting.removeFirst()
            running.append(id)
            let entry = entries[id]!
            let count = min(entry.tokens.count - entry.computed, budget)
            guard reserve(id, positions: count, step: &step), running.contains(id) else { break }
            step.chunks.append(chunk(id, count: count))
            budget -= count
        }
        step.copies = blocks.takeCopies().map { BlockCopy(source: $0.source, destination: $0.destination, positions: $0.positions) }
        return step
    }

    private func chunk(_ id: SequenceID, count: Int) -> ScheduledChunk {
        let entry = entries[id]!
        let end = entry.computed + count
        return ScheduledChunk(
            sequence: id, start: entry.computed, tokens: Array(entry.tokens[entry.computed..<end]),
            wantsLogits: end == entry.tokens.count, blockTable: entry.blocks)
    }

    /// Takes reused prefix blocks for a waiting sequence if the rest of its tokens fit.
    private mutating func admit(_ id: SequenceID) -> Bool {
        var entry = entries[id]!
        // Keep at least the last token to compute: its logits choose the next token.
        let reused = blocks.cachedPrefix(entry.tokens, limit: (entry.tokens.count - 1) / configuration.blockSize)
        let needed = blocks.blocksNeeded(forPositions: entry.tokens.count) - reused.count
        // Reused blocks that sit in the LRU pool count as free now but will not be after reuse.
        let reusedFromPool = reused.filter { blocks.references($0) == 0 }.count
        guard needed + reusedFromPool <= blocks.freeBlocks else { return false }
        reused.forEach { blocks.retain($0) }
        entry.blocks = reused
        entry.computed = reused.count * configuration.blockSize
        if entry.reused == nil { entry.reused = entry.computed }
        reusedPositions += entry.computed
        entries[id] = entry
        return true
    }

    /// Makes sure `id` has private blocks for its next `positions` positions, preempting the
    /// newest sequences when blocks run out. False when `id` itself had to be preempted.
    private mutating func reserve(_ id: SequenceID, positions: Int, step: inout Step) -> Bool {
        var entry = entries[id]!
        let blockSize = configuration.blockSize
        let end = entry.computed + positions
        // The block holding the first new position may be shared (a forked sequence).
        if entry.computed % blockSize != 0, entry.computed / blockSize < entry.blocks.count {
            let index = entry.computed / blockSize
            while true {
                if let block = blocks.prepareForWrite(entry.blocks[index], filledPositions: entry.computed % blockSize) {
                    entry.blocks[index] = block
                    break
                }
                guard preemptNewest(sparing: id, step: &step) else { return false }
            }
        }
        while entry.blocks.count < blocks.blocksNeeded(forPositions: end) {
            if let block = blocks.allocate() {
                entry.blocks.append(block)
            } else if !preemptNewest(sparing: id, step: &step) {
                entries[id] = entry
                preempt(id, step: &step)
                return false
            }
        }
        entries[id] = entry
        return true
    }

    /// Preempts the newest running sequence other than `spared` if it is newer; false when
    /// `spared` is itself the newest.
    private mutating func preemptNewest(sparing spared: SequenceID, step: inout Step) -> Bool {
        guard let victim = running.last, victim != spared else { return false }
        preempt(victim, step: &step)
        return true
    }

    private mutating func preempt(_ id: SequenceID, step: inout Step) {
        guard var entry = entries[id] else { return }
        entry.blocks.forEach { blocks.release($0) }
        entry.blocks = []
        entry.computed = 0
        entry.preemptions += 1
        entries[id] = entry
        running.removeAll { $0 == id }
        step.chunks.removeAll { $0.sequence == id }
        step.preempted.append(id)
        // Back to the queue in arrival order, ahead of anything that came later.
        let position = waiting.firstIndex { entries[$0]!.arrival > entry.arrival } ?? waiting.count
        waiting.insert(id, at: position)
    }
}
