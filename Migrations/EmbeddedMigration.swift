/// One `NNNN_name.sql` file of this folder, compiled into the binary by the
/// `EmbedMigrations` build-tool plugin (the generated file extends this type).
///
/// This folder is a Swift target (`MigrationFiles`) rather than plain files beside the
/// package because SwiftPM re-plans a build, re-running the plugin, only when a target's
/// files change: as a target, adding, removing or editing a migration always reaches the
/// binary. JobStore turns these into `Migration` values.
public struct EmbeddedMigration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    /// Every file, in version order.
    public static var all: [EmbeddedMigration] { generated }
}
