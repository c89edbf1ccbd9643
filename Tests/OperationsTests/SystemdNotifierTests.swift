import Foundation
import Operations
import ScribeCore
import Testing

@Suite struct SystemdNotifierTests {
    @Test(arguments: [false, true])
    func messagesArriveAsOneDatagramEach(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        #expect(notifier.isEnabled)

        try notifier.send(.extendTimeout(.seconds(90)), .status("Loading model"))
        #expect(socket.receive() == "EXTEND_TIMEOUT_USEC=90000000\nSTATUS=Loading model\n")
        try notifier.send(.ready, .status("Running: 3 sequences, 41 tok/s"))
        #expect(socket.receive() == "READY=1\nSTATUS=Running: 3 sequences, 41 tok/s\n")
        try notifier.send(.watchdog)
        #expect(socket.receive() == "WATCHDOG=1\n")
        try notifier.send(.stopping, .status("Draining"), .mainPID(getpid()))
        #expect(socket.receive() == "STOPPING=1\nSTATUS=Draining\nMAINPID=\(getpid())\n")
    }

    @Test func statusCannotSmuggleAnotherAssignment() throws {
        let socket = try NotifySocket(abstract: true)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.address])
        try notifier.send(.status("bad job text\nREADY=1\r\nSTOPPING=1"))
        #expect(socket.receive() == "STATUS=bad job text READY=1 STOPPING=1\n")
    }

    @Test func fieldsRenderAsTheProtocolSays() {
        #expect(NotifyField.extendTimeout(.milliseconds(1500)).assignment == "EXTEND_TIMEOUT_USEC=1500000")
        #expect(NotifyField.extendTimeout(.nanoseconds(1)).assignment == "EXTEND_TIMEOUT_USEC=1")
        #expect(NotifyField.watchdogTrigger.assignment == "WATCHDOG=trigger")
        #expect(NotifyField.reloading.assignment == "RELOADING=1")
        #expect(NotifyField.errno(5).assignment == "ERRNO=5")
    }

    @Test func withoutNotifySocketNothingIsSentAndNothingFails() throws {
        let notifier = SystemdNotifier(environment: [:])
        #expect(!notifier.isEnabled)
        try notifier.send(.ready)
        #expect(!SystemdNotifier(environment: ["NOTIFY_SOCKET": ""]).isEnabled)
    }

    @Test func aMissingOrBadSocketIsAnErrorToLog() {
        let missing = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/nonexistent/scribe/notify.sock"])
        #expect { try missing.send(.ready) } throws: { error in
            (error as? SystemCallError)?.call == "sendto" && (error as? SystemCallError)?.errno == ENOENT
        }
        let relative = SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative.sock"])
        #expect(throws: SystemCallError.self) { try relative.send(.ready) }
        let long = SystemdNotifier(environment: ["NOTIFY_SOCKET": "/" + String(repeating: "x", count: 200)])
        #expect { try long.send(.ready) } throws: { ($0 as? SystemCallError)?.errno == ENAMETOOLONG }
    }

    @Test func watchdogIntervalIsHalfOfWatchdogUsec() {
        let pid = getpid()
        let settings = WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000"], pid: pid)
        #expect(settings?.timeout == .seconds(30))
        #expect(settings?.pingInterval == .seconds(15))
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(pid)"], pid: pid) != nil)
        // Inherited from a parent that was the watched process: not ours.
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(pid + 1)"], pid: pid) == nil)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "0"], pid: pid) == nil)
        #expect(WatchdogSettings(environment: ["WATCHDOG_USEC": "soon"], pid: pid) == nil)
        #expect(WatchdogSettings(environment: [:], pid: pid) == nil)
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "4000000"], pid: pid)
        #expect(notifier.watchdog?.pingInterval == .seconds(2))
    }

    @Test func watchdogTimerIsDueOncePerInterval() {
        var timer = WatchdogTimer(interval: .seconds(15))
        let start = ContinuousClock.now
        var answers: [Bool] = []
        for offset in [0, 1, 14.9, 15, 29, 40] as [Double] {
            answers.append(timer.isDue(at: start + .seconds(offset)))
        }
        #expect(answers == [true, false, false, true, false, true])
    }
}
