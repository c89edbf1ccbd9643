import ScribeCore
import Inference

extension Engine {
    /// Plans a step, runs the forward call, samples, and returns the requests that finished.
    func runStep() -> [GenerationResult] {
        let step = scheduler.schedule()
        statistics.preemptions += step.preempted.count
        guard !step.isEmpty else { return [] }
        for copy in step.copies {
            context.cache.copyBlock(Int(copy.source), to: Int(copy.destination), positions: copy.positions)
        }
        var batch = Batch()
        for (index, chunk) in step.chunks.enumerated() {
            batch.blockTables.append(chunk.blockTable)
            for (offset, token) in chunk.tokens.enumerated() {
                batch.rows.append(.init(token: token, position: chunk.start + offset, sequence: index,
                                        wantsLogits: chunk.wantsLogits && offset == chunk.tokens.count - 1))
            }
        }
        let now = clock.now
        for chunk in step.chunks {
            guard let request = sequences[chunk.sequence]?.request, request.queuedUntil == nil else { continue }
            request.queuedUntil = now
            request.cachedPromptTokens = scheduler.reusedPositions(of: chunk.sequence)
        }
        statistics.steps += 1
        statistics.rows += batch.rows.count
        statistics.lastStepRows = batch.rows.count
        let generatedBefore = statistics.generatedTokens
        defer {
            let seconds = (clock.now - now).seconds
            if seconds > 0 {
                let rate = Double(statistics.generatedTokens - generatedBefore) / seconds
                statistics.recentTokensPerSecond = 0.9 * statistics.recentTokensPerSecond + 0.1 * rate
            }
        }
        let logits: Logits
        do {
            logits = try context.decode(batch)
        } catch {
            logger.error("Forward pass refused a batch", metadata: ["error": "\(error)", "batch.rows": "\(batch.rows.count)"])
            return failAll(in: step, reason: "\(error)")
        }
        var sampled: [SequenceID: TokenID] = [:]
        var ended: [SequenceID] = []
        var forks: [(parent: SequenceID, child: SequenceID, token: TokenID)] = []
        var deadEnds: [RequestState] = []
        var logitRow = 0
        for chunk in step.chunks {
            guard chunk.wantsLogits else {
                statistics.promptRows += chunk.tokens.count
                continue
            }
            defer { logitRow += 1 }
            if chunk.tokens.count > 1 || sequences[chunk.sequence]?.tokens.isEmpty == true {
                statistics.promptRows += chunk.tokens.count - 1
            }
            guard let sequence = sequences[chunk.sequence] else { continue }
            let row = logits.row(logitRow)
            var children: [(SequenceState, TokenID)] = []
            if sequence.request.pendingForks > 0 && sequence.tokens.isEmpty {
                children = forkChildren(of: sequence, logits: row)
            }
            guard let token = sequence.sample(row, workspace: workspace) else {
                deadEnds.append(sequence.request)
                continue
            }
            if sequence.request.firstTokenAt == nil { sequence.request.firstTokenAt = clock.now }
            statistics.generatedTokens += 1
            if sequence.accept(token) {
                ended.append(sequence.id)
            } else {
                sampled[sequence.id] = token
            }
            for (child, childToken) in children {
                sequences[child.id] = child
                forks.append((sequence.id, child.id, childToken))
                statistics.generatedTokens += 1
                if child.accept(childToken) { ended.append(child.id) }
            }
        }
        scheduler.completed(step, sampled: sampled)
        // After `completed`: a child shares what its parent has computed, prompt included.
        for fork in forks { scheduler.fork(fork.parent, as: fork.child, firstToken: fork.token) }
        var finished: [GenerationResult] = []
        for request in deadEnds where requests[request.request.id] != nil {
            finished.append(fail(request, GenerationError(
                "the output cannot go on under \(request.request.params.constraint?.field ?? "its constraint"): "
                    + "no token of this model continues it")))
        }
        for id in ended {
            scheduler.remove(id)
            guard let sequence = sequences.removeValue(forKey: id) else { continue }
            let request = sequence.request
            request.completions[sequence.index] = sequence.completion()
            request.live.remove(id)
            if request.live.isEmpty && request.pendingForks == 0 {
                finished.append(finish(request))
            }
        }
        return finished
    }

    /// Samples the first token of every further completion of a request from its prompt's
    /// logits (each with its own random stream) before the parent's sampling overwrites them.
    private func forkChildren(of parent: SequenceState, logits row: UnsafeMutableBufferPointer<Float>) -> [(SequenceState, TokenID)] {
        let request = parent.request
        var children: [(SequenceState, TokenID)] = []
        var copy = [Float](repeating: 0, count: row.count)
        for index in 1...request.pendingForks {
            guard let child = try? makeSequence(for: request, index: index) else { continue }
            copy.withUnsafeMutableBufferPointer { buffer in
                _ = buffer.update(fromContentsOf: row)
                // The parent stands where its children do: at a dead end it fails the request.
                if let token = child.sample(buffer, workspace: workspace) { children.append((child, token)) }
            }
        }
        request.pendingForks = 0
        return children
    }

    /// A refused forward call fails the requests in it; the engine goes on with the rest.
    private func failAll(in step: Step, reason: String) -> [GenerationResult] {
        var finished: [GenerationResult] = []
        for chunk in step.chunks {
            guard let sequence = sequences[chunk.sequence], requests[sequence.request.request.id] != nil else { continue }
            finished.append(fail(sequence.request, GenerationError("internal error: \(reason)", kind: .internal)))
        }
        return finished
    }

    /// Ends a request and all its sequences with `error`.
    private func fail(_ request: RequestState, _ error: GenerationError) -> GenerationResult {
        for id in request.live {
            scheduler.remove(id)
            sequences[id] = nil
        }
        request.live = []
        requests[request.request.id] = nil
        return request.result(.failure(error), now: clock.now)
    }
}
