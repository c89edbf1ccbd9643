import Dispatch

/// Splitting independent work between the context's threads.
enum Parallel {
    /// Runs `work` over 0..<count cut into at most `threads` contiguous ranges of whole
    /// groups, concurrently; each range must touch memory no other range touches.
    static func slices(_ count: Int, threads: Int, groupsOf group: Int = 1, _ work: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let sliceSize = ((count + threads - 1) / threads + group - 1) / group * group
        let slices = (count + sliceSize - 1) / sliceSize
        if slices == 1 { return work(0..<count) }
        withoutActuallyEscaping(work) { work in
            let shared = UncheckedSendable(work)
            DispatchQueue.concurrentPerform(iterations: slices) { index in
                shared.value((index * sliceSize)..<min(count, (index + 1) * sliceSize))
            }
        }
    }
}

/// Hands a closure over raw pointers to worker threads that touch disjoint memory.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
