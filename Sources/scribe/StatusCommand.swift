import ScribeCore
import ArgumentParser
import Foundation
import JobStore
import Operations

/// The queue at a glance: `scribe status`, or a live view with `--watch`.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Queue depth, recent throughput, live workers and the webhook backlog.",
        discussion: """
            Jobs per second and tokens per second count the jobs that finished within each window \
            (by finished_at). Connects with DATABASE_URL or the libpq environment.
            """)

    @Flag(help: "Redraw in place every --interval seconds until interrupted (Ctrl-C).")
    var watch = false

    @Option(help: "Seconds between redraws with --watch.")
    var interval = 2.0

    @Flag(help: "Print JSON (one object per line with --watch) instead of text.")
    var json = false

    func validate() throws {
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
    }

    func run() throws {
        var connection: PostgresConnection? = try DatabaseConnection.open()
        while true {
            do {
                let open = try connection ?? DatabaseConnection.open()
                connection = open
                let status = try QueueStatus.read(on: open)
                if json {
                    print(try JSONValue(encoding: status).jsonText)
                } else if watch {
                    redraw("scribe status, every \(interval)s (Ctrl-C to stop)\n\n" + StatusScreen.render(status))
                } else {
                    print(StatusScreen.render(status), terminator: "")
                }
            } catch let error as PostgresError where watch && error.reason == .connection {
                // A live view outlasts a database restart: say so and try again next time.
                connection = nil
                redraw("scribe status: database unreachable, retrying every \(interval)s\n\(error)\n")
            }
            fflush(nil)  // every output stream: print buffers when stdout is a pipe
            guard watch else { return }
            Thread.sleep(forTimeInterval: interval)
        }
    }

    /// Cursor home, each line cleared to its end, the rest of the screen cleared: redraws
    /// without the flicker of clearing the whole screen first.
    private func redraw(_ screen: String) {
        let lines = screen.split(separator: "\n", omittingEmptySubsequences: false)
        print("\u{1B}[H" + lines.joined(separator: "\u{1B}[K\n") + "\u{1B}[J", terminator: "")
    }
}
