import PanelFormat

/// The loop around the integer micro-kernels, whatever the format and kernel set: rows go
/// through the panels in chunks, 4 rows (or the last 1–3) per tile call.
enum IntegerPanels {
    /// Rows go through all panels in chunks whose codes fit in L1 (16 KB): past that,
    /// reloading each panel's codes from L2 for every 4 rows cost ~14% of prompt speed.
    static let chunkBytes = 16384

    /// y (rows, n) row-major, columns of `panelRange`'s panels ← x · Wᵀ (or += it when
    /// `accumulate`), x given as its quantized codes (rows, k); `panels` points at panel 0,
    /// `panelBytes` apart.
    static func multiply(
        rows: Int, k: Int, x: QuantizedActivations, panels: UnsafeRawPointer, panelBytes: Int, panelRange: Range<Int>,
        n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool, tile: PanelTileKernel
    ) {
        let blocks = k / 32, width = NibblePanelFormat.width
        let chunkRows = max(4, chunkBytes / k / 4 * 4)
        var chunk = 0
        while chunk < rows {
            let end = min(rows, chunk + chunkRows)
            for panel in panelRange {
                var row = chunk
                while row < end {
                    let count = min(4, end - row)
                    tile(PanelTile(
                        rows: count, blocks: blocks, codes: UnsafePointer(x.codes + row * k),
                        scales: UnsafePointer(x.scales + row * blocks), sums: UnsafePointer(x.sums + row * blocks),
                        panel: panels + panel * panelBytes, y: y + row * n + panel * width, n: n,
                        columns: min(width, n - panel * width), accumulate: accumulate))
                    row += count
                }
            }
            chunk = end
        }
    }
}
