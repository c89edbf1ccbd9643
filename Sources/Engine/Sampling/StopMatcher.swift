/// Finds stop strings in text streamed chunk by chunk and says what is safe to emit.
///
/// Text that could be the start of a stop string is held back until the next chunk decides;
/// when a stop string completes (possibly across chunks), the text before it is released and
/// the stop string itself is dropped. Matching is on UTF-8 bytes; since stop strings and
/// chunks are valid UTF-8, matches and held-back tails start on character boundaries.
///
/// With several stop strings, the one that completes first in the text wins; among those
/// completing at the same byte, the one starting earliest. So the result does not depend on
/// how the text was cut into chunks.
public struct StopMatcher: Sendable {
    /// What one call released.
    public struct Output: Sendable, Equatable {
        /// Text safe to emit now (never part of a stop string).
        public var text: String
        /// The stop string that matched; after it, the matcher accepts no more text.
        public var stop: String?

        public init(text: String, stop: String? = nil) {
            self.text = text
            self.stop = stop
        }
    }

    /// Longest first, so that at one end the matches come earliest start first.
    private let stops: [[UInt8]]
    private let stopStrings: [String]
    /// Received but not yet emitted; always shorter than the longest stop string unless
    /// a chunk is being examined.
    private var pending: [UInt8] = []
    /// The stop string found, once found.
    public private(set) var matchedStop: String?

    public init(stops: [String]) {
        // Stable: equal lengths keep their order.
        let usable = stops.filter { !$0.isEmpty }.enumerated()
            .sorted { ($0.element.utf8.count, -$0.offset) > ($1.element.utf8.count, -$1.offset) }.map(\.element)
        stopStrings = usable
        self.stops = usable.map { Array($0.utf8) }
    }

    /// Whether a stop string has been found (further chunks are ignored).
    public var isStopped: Bool { matchedStop != nil }

    /// Takes the next chunk of generated text. `accepts` is asked about each match, with
    /// the unreleased text before it; a match it refuses is passed over (a constrained
    /// output stops only after a complete value).
    public mutating func consume(_ chunk: String, accepts: (String) -> Bool = { _ in true }) -> Output {
        guard !isStopped else { return Output(text: "") }
        guard !stops.isEmpty else { return Output(text: chunk) }
        // Ends already checked: earlier ends were checked when their bytes arrived.
        let checkedEnd = pending.count
        pending.append(contentsOf: chunk.utf8)
        if let (start, stop) = firstMatch(endingAfter: checkedEnd, accepts: accepts) {
            let before = String(decoding: pending[..<start], as: UTF8.self)
            pending.removeAll()
            matchedStop = stop
            return Output(text: before, stop: stop)
        }
        let keep = heldBackCount()
        let emit = String(decoding: pending[..<(pending.count - keep)], as: UTF8.self)
        pending.removeFirst(pending.count - keep)
        return Output(text: emit)
    }

    /// Generation ended for another reason: releases the held-back text.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// The earliest-ending accepted match whose end lies beyond `checkedEnd`; earliest
    /// start on ties.
    private func firstMatch(endingAfter checkedEnd: Int, accepts: (String) -> Bool) -> (start: Int, stop: String)? {
        guard checkedEnd < pending.count else { return nil }
        for end in (checkedEnd + 1)...pending.count {
            for (k, stop) in stops.enumerated() where stop.count <= end {
                let start = end - stop.count
                if pending[start..<end].elementsEqual(stop), accepts(String(decoding: pending[..<start], as: UTF8.self)) {
                    return (start, stopStrings[k])
                }
            }
        }
        return nil
    }

    /// Length of the longest tail of `pending` that is a proper prefix of some stop string.
    private func heldBackCount() -> Int {
        var longest = 0
        for stop in stops {
            var length = min(stop.count - 1, pending.count)
            while length > longest {
                if pending[(pending.count - length)...].elementsEqual(stop[..<length]) {
                    longest = length
                    break
                }
                length -= 1
            }
        }
        return longest
    }
}
