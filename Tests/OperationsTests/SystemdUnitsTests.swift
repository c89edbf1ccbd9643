import Foundation
import Testing
import TestSupport

/// `Ops/systemd` and `Ops/install`, checked as files and as systemd would load them.
@Suite struct SystemdUnitsTests {
    static let hasSystemdAnalyze = FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")
        || FileManager.default.isExecutableFile(atPath: "/bin/systemd-analyze")

    private func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "scribe-install-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func install(_ arguments: [String], script: String = Repository.path("Ops/install")) throws -> ProcessResult {
        try ChildProcess.run([script, "--binary", Executables.scribe] + arguments)
    }

    @Test func installsBinaryUnitsAndSettingsUnderAPrefix() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try install(["--prefix", root])
        #expect(result.status == 0, "\(result.standardError)")

        let files = FileManager.default
        #expect(files.isExecutableFile(atPath: root + "/usr/local/bin/scribe"))
        for unit in ["scribe-worker@.service", "scribe-migrate.service"] {
            let installed = try String(contentsOfFile: root + "/etc/systemd/system/" + unit, encoding: .utf8)
            #expect(installed == (try String(contentsOfFile: Repository.path("Ops/systemd/" + unit), encoding: .utf8)))
            #expect(try permissions(root + "/etc/systemd/system/" + unit) == 0o644)
        }
        // The settings hold secrets: private to root.
        #expect(try permissions(root + "/etc/scribe/scribe.env") == 0o600)
        #expect(files.fileExists(atPath: root + "/etc/scribe/scribe.env.example"))
        if Self.hasSystemdAnalyze {
            #expect(result.standardError.contains("units verified by systemd-analyze"))
        }
    }

    @Test func anExistingSettingsFileIsKept() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/etc/scribe", withIntermediateDirectories: true)
        try "DATABASE_URL=mine\n".write(toFile: root + "/etc/scribe/scribe.env", atomically: true, encoding: .utf8)
        let result = try install(["--prefix", root, "--no-verify"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try String(contentsOfFile: root + "/etc/scribe/scribe.env", encoding: .utf8) == "DATABASE_URL=mine\n")
        #expect(result.standardError.contains("kept \(root)/etc/scribe/scribe.env"))
    }

    @Test func dryRunChangesNothing() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try install(["--prefix", root, "--dry-run"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root).isEmpty)
        #expect(result.standardOutput.contains("would install"))
        #expect(result.standardOutput.contains("\(root)/usr/local/bin/scribe"))
    }

    @Test func bindirIsWrittenIntoTheUnits() throws {
        let root = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try install(["--prefix", root, "--bindir", "/opt/scribe/bin"])
        #expect(result.status == 0, "\(result.standardError)")
        let worker = try String(contentsOfFile: root + "/etc/systemd/system/scribe-worker@.service", encoding: .utf8)
        #expect(worker.contains("ExecStart=/opt/scribe/bin/scribe worker\n"))
        #expect(FileManager.default.isExecutableFile(atPath: root + "/opt/scribe/bin/scribe"))
    }

    /// The verification step can fail: a misspelt key (only a warning to systemd) stops
    /// the install.
    @Test(.enabled(if: hasSystemdAnalyze)) func aBrokenUnitFailsTheInstall() throws {
        let copy = try temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.copyItem(atPath: Repository.path("Ops"), toPath: copy + "/Ops")
        let unit = copy + "/Ops/systemd/scribe-worker@.service"
        let text = try String(contentsOfFile: unit, encoding: .utf8)
        try text.replacingOccurrences(of: "\nWatchdogSec=", with: "\nWatchdogSecs=").write(toFile: unit, atomically: true, encoding: .utf8)
        let result = try install(["--prefix", copy + "/root"], script: copy + "/Ops/install")
        #expect(result.status != 0)
        #expect(result.standardError.contains("Unknown key 'WatchdogSecs'"))
    }

    /// systemd's own score of the sandboxing (0 best, 10 worst): "OK" is below 5; ours
    /// stays well under.
    @Test(.enabled(if: hasSystemdAnalyze)) func hardeningScoresWellInSystemdAnalyzeSecurity() throws {
        for unit in ["scribe-worker@.service", "scribe-migrate.service"] {
            let result = try ChildProcess.run([
                "systemd-analyze", "security", "--offline=true", "--no-pager", Repository.path("Ops/systemd/" + unit),
            ])
            let line = try #require(result.standardOutput.split(separator: "\n").first { $0.contains("Overall exposure level") })
            let score = try #require(line.split(separator: " ").compactMap { Double($0) }.first)
            #expect(score <= 2.0, "\(unit): \(line)")
        }
    }

    @Test func workerUnitHasTheSettingsTheWorkerRelies() throws {
        let unit = try UnitFile(path: Repository.path("Ops/systemd/scribe-worker@.service"))
        let service = unit["Service"]
        #expect(service["Type"] == ["notify"])
        #expect(service["NotifyAccess"] == ["main"])
        #expect(service["Restart"] == ["on-failure"])
        #expect(service["KillSignal"] == ["SIGTERM"])
        #expect(service["ExecStart"] == ["/usr/local/bin/scribe worker"])
        #expect(service["EnvironmentFile"]?.first == "/etc/scribe/scribe.env")
        #expect(service["DynamicUser"] == ["yes"])
        #expect(service["StateDirectory"] == ["scribe"])
        #expect(service["Environment"]?.contains("SCRIBE_HOME=/var/lib/scribe") == true)
        for (key, value) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "true"), ("PrivateTmp", "true")] {
            #expect(service[key] == [value], "\(key)")
        }
        #expect(try seconds(service["WatchdogSec"]) >= 10)
        #expect(try seconds(service["TimeoutStartSec"]) >= 120)
        #expect(unit["Unit"]["Requires"] == ["scribe-migrate.service"])
        #expect(unit["Unit"]["After"]?.first?.contains("scribe-migrate.service") == true)

        // Stopping must outlast the drain, or systemd kills jobs mid-drain.
        let settings = try UnitFile(path: Repository.path("Ops/systemd/scribe.env"), sectionless: true)[""]
        let drain = try #require(settings["SCRIBE_DRAIN_TIMEOUT"]?.first.flatMap { Double($0) })
        #expect(try seconds(service["TimeoutStopSec"]) >= drain + 10)

        let migrate = try UnitFile(path: Repository.path("Ops/systemd/scribe-migrate.service"))
        #expect(migrate["Service"]["Type"] == ["oneshot"])
        // Link-local and metadata addresses denied by the kernel; memory and tasks bounded.
        for unit in [service, migrate["Service"]] {
            let denied = Set(unit["IPAddressDeny"]?.flatMap { $0.split(separator: " ").map(String.init) } ?? [])
            #expect(denied.isSuperset(of: ["169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128"]), "\(denied)")
            #expect(unit["MemoryMax"]?.count == 1 && unit["TasksMax"]?.count == 1)
        }
        #expect(migrate["Service"]["ExecStart"] == ["/usr/local/bin/scribe migrate --wait 300"])
    }

    @Test func settingsExampleNamesEveryVariable() throws {
        let settings = try UnitFile(path: Repository.path("Ops/systemd/scribe.env"), sectionless: true)[""]
        for name in ["DATABASE_URL", "SCRIBE_MODEL", "SCRIBE_CONCURRENCY", "SCRIBE_WEBHOOK_SECRETS", "SCRIBE_METRICS_PORT",
                     "SCRIBE_LOG_LEVEL", "SCRIBE_LOG_FORMAT", "SCRIBE_DRAIN_TIMEOUT", "SCRIBE_LEASE"] {
            #expect(settings[name] != nil, "\(name) missing")
        }
    }

    private func permissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }

    /// `90`, `90s`, `2min` as systemd reads time spans (the forms these units use).
    private func seconds(_ values: [String]?) throws -> Double {
        let text = try #require(values?.last)
        if let plain = Double(text) { return plain }
        if text.hasSuffix("min"), let minutes = Double(text.dropLast(3)) { return minutes * 60 }
        if text.hasSuffix("s"), let value = Double(text.dropLast()) { return value }
        Issue.record("unreadable time span \(text)")
        return 0
    }
}

/// A unit or environment file as key → values per section (repeated keys accumulate).
struct UnitFile {
    private var sections: [String: [String: [String]]] = [:]

    init(path: String, sectionless: Bool = false) throws {
        var section = ""
        for raw in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if !sectionless && line.hasPrefix("[") && line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast())
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: [:]][key, default: []].append(value)
        }
    }

    subscript(section: String) -> [String: [String]] { sections[section] ?? [:] }
}
