import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A one-line progress bar on standard error, drawn only when standard error is a
/// terminal (logs and pipes get nothing), redrawn at most ten times a second.
final class ProgressBar {
    private let label: String
    private let total: Int
    private let enabled: Bool
    private var lastDraw: Date = .distantPast

    init(label: String, total: Int) {
        self.label = label
        self.total = max(total, 1)
        enabled = isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int) {
        guard enabled, done >= total || Date().timeIntervalSince(lastDraw) >= 0.1 else { return }
        lastDraw = Date()
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    /// Ends the line (when something was drawn).
    func finish() {
        guard enabled, lastDraw != .distantPast else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
