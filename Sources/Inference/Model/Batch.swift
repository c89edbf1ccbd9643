/// The input of one forward call: rows from any number of sequences, each one token at a
/// position, plus every sequence's block table. Rows of one sequence appear in position order.
public struct Batch: Sendable {
    public struct Row: Sendable, Equatable {
        public var token: TokenID
        public var position: Int
        /// Index into `blockTables`.
        public var sequence: Int
        /// Whether this row's logits are computed (the last prompt row, every decode row).
        public var wantsLogits: Bool

        public init(token: TokenID, position: Int, sequence: Int, wantsLogits: Bool) {
            self.token = token
            self.position = position
            self.sequence = sequence
            self.wantsLogits = wantsLogits
        }
    }

    public var rows: [Row] = []
    /// Per sequence, the cache blocks covering positions 0... in order.
    public var blockTables: [[Int32]] = []

    public init(rows: [Row] = [], blockTables: [[Int32]] = []) {
        self.rows = rows
        self.blockTables = blockTables
    }

    public var logitRowCount: Int { rows.reduce(0) { $0 + ($1.wantsLogits ? 1 : 0) } }
}
