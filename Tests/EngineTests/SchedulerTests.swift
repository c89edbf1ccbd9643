import Engine
import Inference
import Testing

/// The scheduler as a transcript: events in, plans out, no model.
@Suite struct SchedulerTests {
    static func configuration(
        maxRunning: Int = 8, budget: Int = 32, blockSize: Int = 4, blocks: Int = 64, context: Int = 256
    ) -> SchedulerConfiguration {
        SchedulerConfiguration(maxRunning: maxRunning, tokenBudget: budget, contextLength: context,
                               blockSize: blockSize, blockCount: blocks)
    }

    static func prompt(_ count: Int, from first: Int32 = 100) -> [TokenID] { (0..<Int32(count)).map { first + $0 } }

    /// Runs one step, "sampling" token 7 for every sequence that wants logits.
    @discardableResult
    static func step(_ scheduler: inout Scheduler, token: TokenID = 7) -> Step {
        let step = scheduler.schedule()
        let sampled = Dictionary(uniqueKeysWithValues: step.chunks.filter(\.wantsLogits).map { ($0.sequence, token) })
        scheduler.completed(step, sampled: sampled)
        return step
    }

    @Test func aPromptIsPrefilledThenDecodedOneRowAtATime() throws {
        var scheduler = Scheduler(Self.configuration())
        let a = SequenceID(1)
        try scheduler.add(a, prompt: Self.prompt(5), maxNewTokens: 10)
        let first = Self.step(&scheduler)
        #expect(first.chunks == [ScheduledChunk(sequence: a, start: 0, tokens: Self.prompt(5), wantsLogits: true, blockTable: [0, 1])])
        let second = Self.step(&scheduler)
        #expect(second.chunks.map(\.start) == [5])
        #expect(second.chunks.map(\.tokens) == [[7]])
        #expect(second.chunks.first?.wantsLogits == true)
        #expect(scheduler.tokens(of: a) == Self.prompt(5) + [7, 7])
    }

    @Test func decodesComeFirstAndLongPromptsArePrefilledInChunks() throws {
        var scheduler = Scheduler(Self.configuration(budget: 8))
        let (a, b) = (SequenceID(1), SequenceID(2))
        try scheduler.add(a, prompt: Self.prompt(3), maxNewTokens: 50)
        Self.step(&scheduler)
        try scheduler.add(b, prompt: Self.prompt(20), maxNewTokens: 5)  // joins at the next step
        let steps = (0..<3).map { _ in Self.step(&scheduler) }
        // Each step: a's decode row, then as much of b's prompt as the budget leaves.
        #expect(steps.map { $0.chunks.map(\.sequence) } == [[a, b], [a, b], [a, b]])
        #expect(steps.map { $0.chunks.map(\.tokens.count) } == [[1, 7], [1, 7], [1, 6]])
        #expect(steps.map { $0.chunks.last!.wantsLogits } == [false, false, true])
        #expect(steps.allSatisfy { $0.rowCount <= 8 })
        // b now decodes alongside a.
        #expect(Self.step(&scheduler).chunks.map(\.tokens.count) == [1, 1])
    }

    @Test func aFinishedSequenceLeavesAtOnceAndFreesItsBlocks() throws {
        var scheduler = Scheduler(Self.configuration(blocks: 16))
        try scheduler.add(SequenceID(1), prompt: Self.prompt(9), maxNewTokens: 4)
        Self.step(&scheduler)
        #expect(scheduler.blocks.usedBlocks == 3)
        scheduler.remove(SequenceID(1))
        #expect(scheduler.blocks.usedBlocks == 0)
        #expect(scheduler.isIdle)
        #expect(Self.step(&scheduler).isEmpty)
    }

    @Test func aSharedPrefixIsReusedFromTheCacheAfterItsSequenceEnded() throws {
        var scheduler = Scheduler(Self.configuration(blockSize: 4, blocks: 32))
        let shared = Self.prompt(12)
        try scheduler.add(SequenceID(1), prompt: shared + [1, 2], maxNewTokens: 4)
        Self.step(&scheduler)
        scheduler.remove(SequenceID(1))
        #expect(scheduler.blocks.cachedBlocks == 3)  // the three full prompt blocks stay reusable
        try scheduler.add(SequenceID(2), prompt: shared + [3], maxNewTokens: 4)
        let step = Self.step(&scheduler)
        #expect(step.chunks.map(\.start) == [12])
        #expect(step.chunks.map(\.tokens) == [[3]])
        #expect(scheduler.reusedPositions == 12)
        // A different prefix finds nothing.
        try scheduler.add(SequenceID(3), prompt: Self.prompt(13, from: 500), maxNewTokens: 4)
        #expect(Self.step(&scheduler).chunks.first { $0.sequence == SequenceID(3) }?.start == 0)
    }

    @Test func theWholePromptIsNeverServedFromCache() throws {
        var scheduler = Scheduler(Self.configuration(blockSize: 4))
        try scheduler.add(SequenceID(1), prompt: Self.prompt(8), maxNewTokens: 4)
        Self.step(&scheduler)
        try scheduler.add(SequenceID(2), prompt: Self.prompt(8), maxNewTokens: 4)
        let chunk = Self.step(&scheduler).chunks.first { $0.sequence == SequenceID(2) }
        #expect(chunk?.start == 4)  // the last block is recomputed so the last token has logits
        #expect(chunk?.wantsLogits == true)
    }

    @Test func aForkSharesBlocksAndCopiesOnWrite() throws {
        var scheduler = Scheduler(Self.configuration(blockSize: 4))
        let (parent, child) = (SequenceID(1), SequenceID(2))
        try scheduler.add(parent, prompt: Self.prompt(6), maxNewTokens: 4)
        let prefill = scheduler.schedule()
        scheduler.completed(prefill, sampled: [parent: 7])
        scheduler.fork(parent, as: child, firstToken: 8)
        #expect(scheduler.tokens(of: child) == Self.prompt(6) + [8])
        #expect(scheduler.blocks.references(0) == 2 && scheduler.blocks.references(1) == 2)
        let decode = scheduler.schedule()
        // Both write position 6 in block 1: the first to write (the parent) gets a private
        // copy of its two filled positions, the child keeps the original.
        #expect(decode.copies == [BlockCopy(source: 1, destination: 2, positions: 2)])
        let tables = Dictionary(uniqueKeysWithValues: decode.chunks.map { ($0.sequence, $0.blockTable) })
        #expect(tables[parent] == [0, 2])
        #expect(tables[child] == [0, 1])
        #expect(scheduler.blocks.references(0) == 2 && scheduler.blocks.references(1) == 1)
    }

    @Test func tooLongARequestIsRefusedWithAReason() {
        var scheduler = Scheduler(Self.configuration(context: 64))
        #expect(throws: AdmissionError.self) { try scheduler.add(SequenceID(1), prompt: Self.prompt(60), maxNewTokens: 10) }
        #expect(throws: AdmissionError.self) { try scheduler.add(SequenceID(2), prompt: [], maxNewTokens: 10) }
        var small = Scheduler(Self.configuration(blockSize: 4, blocks: 4))
        #expect(throws: AdmissionError.self) { try small.add(SequenceID(3), prompt: Self.prompt(10), maxNewTokens: 10) }
    }

    /// A cache too small for everyone: the newest sequences are preempted and recomputed,
    /// and every sequence still finishes.
    @Test func preemptionRecomputesAndEverySequenceFinishes() throws {
        var scheduler = Scheduler(Self.configuration(maxRunning: 4, budget: 16, blockSize: 4, blocks: 12))
        let target = 20
        for i in 1...4 { try scheduler.add(SequenceID(i), prompt: Self.prompt(6, from: Int32(i * 1000)), maxNewTokens: target) }
        var generated: [SequenceID: Int] = [:]
        var preempted: Set<SequenceID> = []
        var steps = 0
        while !scheduler.isIdle {
            steps += 1
            #expect(steps < 500, "no progress")
            if steps >= 500 { break }
            let step = scheduler.schedule()
            preempted.formUnion(step.preempted)
            var sampled: [SequenceID: TokenID] = [:]
            for chunk in step.chunks where chunk.wantsLogits {
                let count = generated[chunk.sequence, default: 0]
                // A recomputed sequence samples only after its last known token.
                if chunk.start + chunk.tokens.count == scheduler.tokens(of: chunk.sequence)!.count {
                    sampled[chunk.sequence] = TokenID(count)
                    generated[chunk.sequence] = count + 1
                }
            }
            scheduler.completed(step, sampled: sampled)
            for (id, count) in generated where count == target { scheduler.remove(id); generated[id] = count + 1 }
            #expect(scheduler.blocks.usedBlocks <= 12)
        }
        #expect(generated.values.allSatisfy { $0 == target + 1 })
        #expect(!preempted.isEmpty)
        #expect(!preempted.contains(SequenceID(1)))  // the oldest is never the victim
        #expect(scheduler.blocks.usedBlocks == 0)
    }

    @Test func leastRecentlyReleasedCachedBlocksAreEvictedFirst() {
        var manager = BlockManager(blockSize: 2, blockCount: 3)
        let first = manager.allocate()!, second = manager.allocate()!, third = manager.allocate()!
        manager.register(first, tokens: [1, 2], blockIndex: 0)
        manager.register(second, tokens: [3, 4], blockIndex: 0)
        manager.release(second)
        manager.release(first)
        manager.release(third)
        #expect(manager.freeBlocks == 3 && manager.cachedBlocks == 2)
        #expect(manager.allocate() == third)  // empty blocks go first
        #expect(manager.allocate() == second)  // then the least recently released cached one
        #expect(manager.cachedPrefix([3, 4], limit: 1).isEmpty)
        #expect(manager.cachedPrefix([1, 2], limit: 1) == [first])
    }
}
