import ScribeCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import JobStore

/// Wakes a thread blocked in `poll` from any other thread: a non-blocking pipe whose read
/// end is polled beside other descriptors (a database socket). Signals coalesce: many
/// `signal()` calls before a `drain()` wake the poller once.
public final class Wakeup: @unchecked Sendable {
    /// Poll this for `POLLIN`.
    public let descriptor: Int32
    private let writeEnd: Int32

    public init() throws(SystemCallError) {
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw SystemCallError.last("pipe") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        descriptor = ends[0]
        writeEnd = ends[1]
    }

    deinit {
        close(descriptor)
        close(writeEnd)
    }

    /// Safe from any thread (and from a signal handler: `write` is async-signal-safe).
    public func signal() {
        var byte: UInt8 = 1
        // A full pipe already holds a wake-up: EAGAIN loses nothing.
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe; call after `poll` reported it readable.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(descriptor, &buffer, buffer.count) > 0 {}
    }

    /// Blocks until `signal()`, a readable `others` descriptor, or `timeout`, whichever
    /// comes first. A negative descriptor in `others` is ignored.
    public func wait(for others: [Int32], timeout: Duration) {
        var descriptors = ([descriptor] + others.filter { $0 >= 0 }).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if poll(&descriptors, nfds_t(descriptors.count), timeout.pollMilliseconds) > 0, descriptors[0].revents != 0 { drain() }
    }
}
