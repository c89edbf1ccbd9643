/// Keys of the advisory locks scribe takes. Always transaction-level
/// (`pg_advisory_xact_lock`): released at COMMIT/ROLLBACK on the same server connection,
/// so they are safe through PgBouncer in transaction mode, unlike session locks.
enum AdvisoryLock {
    /// 0x534352494245 is "SCRIBE" in ASCII; the low 16 bits tell the locks apart.
    static let migrations: Int64 = 0x5343_5249_4245_0001
    static let retention: Int64 = 0x5343_5249_4245_0002
}
