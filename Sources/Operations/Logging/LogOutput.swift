import ScribeCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where finished log lines go. Each call receives one whole line, newline included.
public struct LogOutput: Sendable {
    private let writeLine: @Sendable (String) -> Void

    public init(_ writeLine: @escaping @Sendable (String) -> Void) {
        self.writeLine = writeLine
    }

    public func write(_ line: String) { writeLine(line) }

    /// Standard error, which systemd hands to the journal: one `write(2)` per line
    /// under a lock, so lines from several threads never interleave.
    public static let standardError = LogOutput { line in
        standardErrorLock.withLock { _ in writeAll(line, to: 2) }
    }

    /// Standard output, for commands whose stdout is not their result.
    public static let standardOutput = LogOutput { line in
        standardOutputLock.withLock { _ in writeAll(line, to: 1) }
    }
}

private let standardErrorLock = Mutex(())
private let standardOutputLock = Mutex(())

/// Writes every byte, retrying short writes and EINTR; gives up silently on any other
/// error (a closed stderr must not stop the worker, and there is nowhere to report it).
private func writeAll(_ line: String, to descriptor: Int32) {
    var line = line
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && currentErrno() == EINTR {
                continue
            } else {
                return
            }
        }
    }
}
