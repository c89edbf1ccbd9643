#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain POSIX thread: for blocking socket loops that must not occupy the few threads
/// of Swift's cooperative pool (nor wait on the generation loop's), and for the forward
/// pass's helpers, which spin and park on their own.
public enum PosixThread {
    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }

    /// Starts `body` on a new thread; join it with `join`, or pass `detached: true`.
    public static func start(detached: Bool = false, _ body: @escaping @Sendable () -> Void) throws(SystemCallError) -> pthread_t {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            // Balances passRetained above: the thread owns its body.
            Unmanaged<Body>.fromOpaque(context!).takeRetainedValue().run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemCallError(call: "pthread_create", errno: result)
        }
        if detached { pthread_detach(thread) }
        return thread
    }

    public static func join(_ thread: pthread_t) {
        pthread_join(thread, nil)
    }
}
