import Foundation
import PackagePlugin

/// Compiles the `*.sql` files of the target it is applied to (`MigrationFiles`, the
/// top-level `Migrations/` folder) into `EmbeddedMigrations.swift`. The files are the
/// target's own, so SwiftPM re-plans (and re-runs this) when one is added or removed, and
/// re-runs the tool when one is edited, since they are declared as inputs.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let files = (target.sourceModule?.sourceFiles(withSuffix: "sql").map(\.url) ?? [])
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) migrations into \(target.name)",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]),
        ]
    }
}
