@testable import Inference
import Synchronization
import Testing

/// The forward pass's thread pool: every index runs once per job, on distinct threads,
/// jobs follow each other without loss whether helpers spin or have parked, and a pool
/// released joins its helpers.
@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 5])
    func everyIndexRunsOncePerJob(threads: Int) {
        let pool = ThreadPool(threads: threads)
        // Each index is written by the one thread that runs it: plain memory, checked by TSan.
        let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
        counts.initialize(repeating: 0)
        defer { counts.deallocate() }
        for _ in 0..<2_000 {
            pool.run { index in counts[index] += 1 }
        }
        #expect(Array(counts) == Array(repeating: 2_000, count: threads))
    }

    /// Slices cover 0..<count once, in whole groups, for counts below and above the threads.
    @Test func slicesCoverTheRangeOnceInWholeGroups() {
        let pool = ThreadPool(threads: 3)
        for (count, group) in [(1, 1), (2, 1), (7, 1), (100, 16), (33, 16)] {
            let marks = UnsafeMutableBufferPointer<Int>.allocate(capacity: count)
            marks.initialize(repeating: 0)
            defer { marks.deallocate() }
            let badStarts = Atomic<Int>(0)
            pool.slices(count, groupsOf: group) { range in
                if range.lowerBound % group != 0 { badStarts.add(1, ordering: .relaxed) }
                for i in range { marks[i] += 1 }
            }
            #expect(marks.allSatisfy { $0 == 1 }, "count \(count), groups of \(group)")
            #expect(badStarts.load(ordering: .relaxed) == 0)
        }
    }

    /// After an idle spell longer than the spin, helpers have parked; the next job wakes them.
    @Test func parkedHelpersWakeForTheNextJob() async throws {
        let pool = ThreadPool(threads: 2)
        let ran = Atomic<Int>(0)
        for _ in 0..<3 {
            pool.run { _ in ran.add(1, ordering: .relaxed) }
            try await Task.sleep(for: .milliseconds(5 + ThreadPool.spinNanoseconds / 1_000_000))
        }
        #expect(ran.load(ordering: .relaxed) == 6)
    }

    /// Pools come and go (as contexts do) without leaking threads or hanging.
    @Test func releasedPoolsJoinTheirHelpers() {
        var total = 0
        for _ in 0..<50 {
            let pool = ThreadPool(threads: 3)
            let sum = Atomic<Int>(0)
            pool.run { index in sum.add(index, ordering: .relaxed) }
            total += sum.load(ordering: .relaxed)
        }
        #expect(total == 50 * 3)
    }
}
