#if canImport(Glibc)
import Glibc
#endif
import ScribeCore
import Synchronization

/// The forward pass's threads: the calling thread and `threads − 1` helpers that live as
/// long as the pool. A one-row decode step hands work over ~270 times (every product,
/// norm and attention per layer); waking a parked thread for each costs more than the work
/// at one sequence, so helpers spin for a while after each job (as llama.cpp's and
/// OpenMP's threads do; Swift cannot emit `pause`, which matters only to SMT siblings) and
/// park on a condition variable only when no job has come for `spinNanoseconds`.
final class ThreadPool: @unchecked Sendable {
    let threads: Int
    /// How long a helper waits spinning before it parks: longer than the gaps inside a
    /// forward pass and between the engine's steps, short enough that an idle worker sleeps.
    static let spinNanoseconds = 300_000
    private let state: State
    private var helpers: [pthread_t] = []

    init(threads: Int) {
        self.threads = max(1, threads)
        state = State()
        let state = state
        for index in 1..<self.threads {
            do {
                helpers.append(try PosixThread.start { state.serve(index: index) })
            } catch {
                preconditionFailure("cannot start a forward-pass thread: \(error)")
            }
        }
    }

    deinit {
        state.stop()
        helpers.forEach(PosixThread.join)
    }

    /// Runs `body(0)` … `body(threads − 1)` concurrently, `body(0)` on the calling thread,
    /// and returns when all have returned. Not reentrant: one caller at a time.
    func run(_ body: (Int) -> Void) {
        if threads == 1 { return body(0) }
        withoutActuallyEscaping(body) { body in
            state.job = body
            state.start(helpers: threads - 1)
            body(0)
            state.waitForHelpers()
            state.job = nil
        }
    }

    /// Runs `work` over 0..<count cut into at most `threads` contiguous ranges of whole
    /// groups, concurrently; each range must touch memory no other range touches.
    func slices(_ count: Int, groupsOf group: Int = 1, _ work: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let sliceSize = ((count + threads - 1) / threads + group - 1) / group * group
        let slices = (count + sliceSize - 1) / sliceSize
        if slices == 1 { return work(0..<count) }
        run { index in
            if index < slices { work((index * sliceSize)..<min(count, (index + 1) * sliceSize)) }
        }
    }
}

extension ThreadPool {
    /// Shared by the pool and its helpers, so the pool can be released while they run.
    final class State: @unchecked Sendable {
        /// Bumped once per job, after `job` is set: helpers start when they see it move.
        private let generation = Atomic<Int>(0)
        /// Helpers still running the current job.
        private let remaining = Atomic<Int>(0)
        /// Helpers parked (or about to park) on `condition`.
        private let sleepers = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        /// Written by the caller only while no job runs.
        var job: ((Int) -> Void)?
        private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

        init() {
            pthread_mutex_init(mutex, nil)
            pthread_cond_init(condition, nil)
        }

        deinit {
            pthread_cond_destroy(condition)
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
            condition.deallocate()
        }

        func start(helpers: Int) {
            remaining.store(helpers, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            // A helper counts itself a sleeper before it checks `generation` a last time, so
            // either it sees the new job or this sees it and wakes it.
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 { wakeAll() }
        }

        /// Spins, yielding the core now and then: with more threads than cores (parallel
        /// tests, several workers on a host) the helper being waited for may need it.
        func waitForHelpers() {
            var spins = 0
            while remaining.load(ordering: .acquiring) > 0 {
                spins += 1
                if spins % 64 == 0 { sched_yield() }
            }
        }

        func stop() {
            stopping.store(true, ordering: .sequentiallyConsistent)
            generation.add(1, ordering: .sequentiallyConsistent)
            wakeAll()
        }

        private func wakeAll() {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }

        /// A helper's life: wait for each job, run its part, report it done.
        func serve(index: Int) {
            var seen = 0
            while true {
                seen = waitForJob(after: seen)
                if stopping.load(ordering: .sequentiallyConsistent) { return }
                runJob(index)
                remaining.subtract(1, ordering: .releasing)
            }
        }

        /// Calls the job in its own frame, so the helper's hold on the closure ends before
        /// `remaining` tells the caller it may release it.
        @inline(never)
        private func runJob(_ index: Int) { job!(index) }

        /// Spins, then parks, until `generation` moves past `seen`; returns the new value.
        private func waitForJob(after seen: Int) -> Int {
            let deadline = Self.now() + ThreadPool.spinNanoseconds
            var spins = 0
            while true {
                let current = generation.load(ordering: .acquiring)
                if current != seen { return current }
                spins += 1
                if spins % 64 != 0 { continue }
                if Self.now() < deadline {
                    sched_yield()
                    continue
                }
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while generation.load(ordering: .sequentiallyConsistent) == seen {
                    pthread_cond_wait(condition, mutex)
                }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(mutex)
            }
        }

        private static func now() -> Int {
            var time = timespec()
            clock_gettime(CLOCK_MONOTONIC, &time)
            return time.tv_sec * 1_000_000_000 + time.tv_nsec
        }
    }
}
