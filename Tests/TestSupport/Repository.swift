import Foundation

/// Paths inside the checkout, found from this file's location.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/TestSupport/Repository.swift
        return url.path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    public static var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The cached reference model (fetched by Ops/setup), or nil when it is absent.
    public static var referenceModelPath: String? {
        let home = environment["SCRIBE_HOME"].map { $0 + "/models" }
            ?? (environment["HOME"] ?? "/root") + "/.cache/scribe/models"
        let path = home + "/SmolLM2-135M-Instruct.Q4_1.gguf"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
