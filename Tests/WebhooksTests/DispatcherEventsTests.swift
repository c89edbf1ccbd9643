import Foundation
import JobStore
import Testing
import TestSupport
import Webhooks

/// What a dispatcher reports to its owner's metrics, against a real receiver and database.
@Suite struct DispatcherEventsTests {
    /// Events collected from the dispatcher's thread.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var outcomes: [String] = []
        private var errors = 0
        private var reconnects = 0

        var events: DispatcherEvents {
            DispatcherEvents(
                attemptFinished: { outcome in self.lock.withLock { self.outcomes.append(outcome.name) } },
                databaseError: { self.lock.withLock { self.errors += 1 } },
                reconnected: { self.lock.withLock { self.reconnects += 1 } })
        }

        var snapshot: (outcomes: [String], errors: Int, reconnects: Int) {
            lock.withLock { (outcomes.sorted(), errors, reconnects) }
        }
    }

    @Test func reportsEachAttemptsOutcomeAndDatabaseTrouble() throws {
        try IsolatedDatabase.with { database in
            let receiver = try HTTPReceiver(responses: [500, 200])
            let connection = try database.connect()
            let recorder = Recorder()
            let dispatcher = try RunningDispatcher(database, testConfiguration("w-events"), events: recorder.events)
            defer { dispatcher.stop() }
            try connection.finishJob(callbackURL: receiver.url)  // 500, then 200
            try connection.finishJob(callbackURL: "http://169.254.169.254/latest")  // refused by the guard
            #expect(waitUntil { recorder.snapshot.outcomes == ["delivered", "refused", "retry"] },
                    "\(recorder.snapshot)")
            #expect(recorder.snapshot.errors == 0)

            // The server ends the dispatcher's sessions: an error, then a reconnect.
            try connection.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'w-events'")
            try connection.finishJob(callbackURL: receiver.url)
            #expect(waitUntil { recorder.snapshot.errors >= 1 && recorder.snapshot.reconnects >= 1 }, "\(recorder.snapshot)")
            #expect(waitUntil { recorder.snapshot.outcomes.filter { $0 == "delivered" }.count == 2 }, "\(recorder.snapshot)")
        }
    }
}
