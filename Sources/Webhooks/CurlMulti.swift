import CCurl

/// Owns a libcurl multi handle: many transfers driven from one thread, waiting on all
/// their sockets (and one extra descriptor: the database notification socket) at once.
/// Only `wakeup()` may be called from another thread.
final class CurlMulti: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer

    init() throws {
        CurlGlobal.initialize()
        guard let handle = curl_multi_init() else {
            throw HTTPTransferError(CURLE_FAILED_INIT, detail: "curl_multi_init failed")
        }
        self.handle = handle
    }

    deinit {
        curl_multi_cleanup(handle)
    }

    /// Starts driving `easy`; it stays owned by the caller until `remove`.
    func add(_ easy: CurlEasy) throws {
        try check(curl_multi_add_handle(handle, easy.handle))
    }

    /// Stops driving `easy` (finished or aborted); required before it is freed.
    func remove(_ easy: CurlEasy) {
        _ = curl_multi_remove_handle(handle, easy.handle)
    }

    /// Lets every transfer make progress without blocking; returns how many still run.
    @discardableResult
    func perform() throws -> Int {
        var running: Int32 = 0
        try check(curl_multi_perform(handle, &running))
        return Int(running)
    }

    /// Transfers that finished since the last call, with libcurl's result for each.
    func finished() -> [(easy: UnsafeMutableRawPointer, code: CURLcode)] {
        var done: [(UnsafeMutableRawPointer, CURLcode)] = []
        var remaining: Int32 = 0
        while let message = curl_multi_info_read(handle, &remaining) {
            if message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle {
                done.append((easy, message.pointee.data.result))
            }
        }
        return done
    }

    /// Sleeps until a transfer's socket is ready, libcurl's next timer, `extra` becomes
    /// readable, `wakeup()`, or `timeoutMilliseconds`. Returns whether `extra` is readable.
    func poll(extra: Int32?, timeoutMilliseconds: Int32) throws -> Bool {
        var ready: Int32 = 0
        guard let extra, extra >= 0 else {
            try check(curl_multi_poll(handle, nil, 0, max(0, timeoutMilliseconds), &ready))
            return false
        }
        var descriptor = curl_waitfd(fd: extra, events: Int16(CURL_WAIT_POLLIN), revents: 0)
        try check(curl_multi_poll(handle, &descriptor, 1, max(0, timeoutMilliseconds), &ready))
        return descriptor.revents != 0
    }

    /// Ends a `poll` in progress on another thread (thread-safe per libcurl).
    func wakeup() {
        _ = curl_multi_wakeup(handle)
    }

    private func check(_ code: CURLMcode) throws {
        guard code == CURLM_OK else {
            throw HTTPTransferError(CURLE_FAILED_INIT, detail: String(cString: curl_multi_strerror(code)))
        }
    }
}
