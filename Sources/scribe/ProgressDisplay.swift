import ScribeCore
import Foundation
import Operations

#if canImport(Glibc)
import Glibc
#endif

/// Where a progress line goes: redrawn in place on a terminal, one line every
/// `quietInterval` seconds otherwise (a log file, CI output), and always a last line.
final class ProgressDisplay {
    let isTerminal: Bool
    private let quietInterval: Double
    private var lastPrinted: Double?
    private var drawn = false

    init(quietInterval: Double = 5) {
        isTerminal = isatty(STDERR_FILENO) == 1
        self.quietInterval = quietInterval
    }

    /// Terminal columns less one (a line as wide as the terminal wraps on some, and `\r`
    /// would then redraw only its last row), else `$COLUMNS`, else 80.
    var width: Int {
        var size = winsize()
        let read = isTerminal && withUnsafeMutablePointer(to: &size) { ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), $0) } == 0
        if read, size.ws_col > 1 { return Int(size.ws_col) - 1 }
        return ProcessEnvironment.current["COLUMNS"].flatMap { Int($0) } ?? 80
    }

    /// Shows `line`; off a terminal only when `quietInterval` has passed since the last one.
    func show(_ line: String, at time: Double) {
        if isTerminal {
            write("\r" + line + "\u{1B}[K")
            drawn = true
        } else if lastPrinted.map({ time - $0 >= quietInterval }) ?? true {
            write(line + "\n")
            lastPrinted = time
        }
    }

    /// Shows the last line and ends it, so what follows starts on a line of its own.
    func finish(_ line: String) {
        write(isTerminal ? "\r" + line + "\u{1B}[K\n" : line + "\n")
        drawn = false
    }

    /// A message on a line of its own, not drawn over by the next update.
    func note(_ message: String) {
        write((drawn ? "\n" : "") + message + "\n")
        drawn = false
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
