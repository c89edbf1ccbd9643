import Foundation

/// The binaries built alongside the tests (same build folder as the test bundle).
public enum Executables {
    public static var buildFolder: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().path
    }

    public static var scribe: String {
        let candidates = [buildFolder + "/scribe", buildFolder + "/../scribe"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }
}
