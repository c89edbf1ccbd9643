import Foundation
import Inference

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
    public static var referenceModelPath: String? { cachedModel(ModelCache.referenceModelFile) }

    /// The cached Gemma 3 270M file (fetched by Ops/setup), or nil when it is absent.
    public static var gemmaModelPath: String? { cachedModel(ModelCache.gemmaModelFile) }

    static func cachedModel(_ file: String) -> String? {
        let path = ModelCache.directory(environment: environment) + "/" + file
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
