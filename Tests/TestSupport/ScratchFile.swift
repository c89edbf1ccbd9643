import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A temporary file edited in place (write, patch, truncate) and removed on `remove()`.
/// Lets a test make hundreds of variants of one file without copying it each time.
public final class ScratchFile {
    public let path: String
    private let descriptor: Int32

    public init(name: String = "scratch") throws {
        path = FileManager.default.temporaryDirectory.path + "/scribe-\(name)-\(UUID().uuidString)"
        descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    deinit {
        close(descriptor)
    }

    /// Replaces the whole content.
    public func write(_ bytes: [UInt8]) throws {
        try truncate(to: 0)
        try patch(at: 0, bytes)
    }

    /// Overwrites `bytes` at `offset`, growing the file if needed.
    public func patch(at offset: Int, _ bytes: [UInt8]) throws {
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
        guard written == bytes.count else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Cuts the file, or extends it with a hole that reads as zeros and takes no disk space.
    public func truncate(to length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    public func remove() {
        unlink(path)
    }
}
