/// The keys a...b of one width (decimal digits, UTF-8 bytes) as sequences of per-position
/// ranges: the classic split into the part that shares `a`'s first digit, a full middle
/// and the part that shares `b`'s. Digits after the first range over `rest` (0–9 in
/// decimal, 80–BF for UTF-8 continuation bytes).
enum FixedWidthRange {
    static func split(_ a: [Int], _ b: [Int], rest: ClosedRange<Int>) -> [[ClosedRange<Int>]] {
        precondition(a.count == b.count && !a.isEmpty)
        if a.count == 1 { return [[a[0]...b[0]]] }
        let restA = Array(a.dropFirst()), restB = Array(b.dropFirst())
        if a[0] == b[0] { return split(restA, restB, rest: rest).map { [a[0]...a[0]] + $0 } }
        let lowest = Array(repeating: rest.lowerBound, count: restA.count)
        let highest = Array(repeating: rest.upperBound, count: restA.count)
        var result: [[ClosedRange<Int>]] = []
        var first = a[0], last = b[0]
        if restA != lowest {
            result += split(restA, highest, rest: rest).map { [a[0]...a[0]] + $0 }
            first += 1
        }
        var tail: [[ClosedRange<Int>]] = []
        if restB != highest {
            tail = split(lowest, restB, rest: rest).map { [b[0]...b[0]] + $0 }
            last -= 1
        }
        if first <= last { result.append([first...last] + Array(repeating: rest, count: restA.count)) }
        return result + tail
    }
}
