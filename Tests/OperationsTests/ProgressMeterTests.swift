import Operations
import Testing

@Suite struct ProgressMeterTests {
    @Test func rateAndTimeLeftFollowTheSamples() {
        var meter = ProgressMeter(window: 30)
        meter.record(done: 0, total: 40, at: 0)
        #expect(meter.rate == nil)  // one sample: no rate yet
        #expect(meter.secondsLeft == nil)
        meter.record(done: 10, total: 40, at: 5)
        #expect(meter.rate == 2)
        #expect(meter.secondsLeft == 15)  // 30 left at 2 a second
        #expect(meter.fraction == 0.25)
        meter.record(done: 40, total: 40, at: 10)
        #expect(meter.secondsLeft == 0)
    }

    @Test func theRateForgetsSamplesOlderThanTheWindow() {
        var meter = ProgressMeter(window: 10)
        meter.record(done: 0, total: 100, at: 0)
        meter.record(done: 50, total: 100, at: 5)  // a fast start...
        meter.record(done: 51, total: 100, at: 20)
        meter.record(done: 52, total: 100, at: 30)  // ...then one every 10 s
        // Samples kept: the last one at or before 30 - 10 (t=20), and t=30.
        #expect(meter.rate == 0.1)
        #expect(meter.secondsLeft == 480)
    }

    @Test func noProgressInTheWindowMeansNoEstimate() {
        var meter = ProgressMeter(window: 10)
        meter.record(done: 3, total: 9, at: 0)
        meter.record(done: 3, total: 9, at: 12)
        #expect(meter.rate == 0)
        #expect(meter.secondsLeft == nil)
        #expect(meter.line(width: 80).contains("ETA --:--"))
    }

    @Test func aGrowingTotalMovesTheEstimate() {
        var meter = ProgressMeter(window: 30)
        meter.record(done: 0, total: 10, at: 0)
        meter.record(done: 5, total: 10, at: 5)
        #expect(meter.secondsLeft == 5)
        meter.record(done: 10, total: 30, at: 10)  // 20 more jobs enqueued meanwhile
        #expect(meter.rate == 1)
        #expect(meter.secondsLeft == 20)
        #expect(meter.total == 30)
    }

    @Test func theLineShowsBarCountsRateAndEstimate() {
        var meter = ProgressMeter(window: 30)
        meter.record(done: 0, total: 40, at: 0)
        meter.record(done: 12, total: 40, at: 8)
        let line = meter.line(width: 80, detail: "1 failed")
        // 28 left at 1.5 a second: 18.7 s. The bar takes what the figures (44 columns,
        // 46 reserved) leave of 80: 32, 30% of it filled.
        #expect(line == "[" + String(repeating: "#", count: 9) + String(repeating: ".", count: 23) + "]"
            + "  12/40  30%  1.5 jobs/s  ETA 0:19  1 failed")
        #expect(line.count == 78)
        // The bar keeps its width while the figures change length.
        meter.record(done: 13, total: 40, at: 9)
        #expect(meter.line(width: 80).prefix { $0 != "]" }.count == line.prefix { $0 != "]" }.count)
        #expect(meter.line(width: 200).count == 42 + 34)  // the bar stops growing at 40
    }

    @Test func aNarrowTerminalDropsTheBarFirst() {
        var meter = ProgressMeter()
        meter.record(done: 1, total: 4, at: 0)
        let line = meter.line(width: 30)
        #expect(!line.contains("["))
        #expect(line.hasPrefix("1/4  25%"))
        #expect(line.count <= 30)
    }

    @Test func anEmptyTargetIsComplete() {
        var meter = ProgressMeter()
        meter.record(done: 0, total: 0, at: 0)
        #expect(meter.fraction == 1)
        #expect(meter.secondsLeft == 0)
    }

    @Test func decimalsShowSlowRates() {
        #expect(ProgressMeter.decimal(0.033) == "0.03")
        #expect(ProgressMeter.decimal(0.7) == "0.70")
        #expect(ProgressMeter.decimal(0.999) == "1.0")
        #expect(ProgressMeter.decimal(12.46) == "12.5")
        #expect(ProgressMeter.decimal(340.4) == "340")
    }

    @Test func clockFormat() {
        #expect(ProgressMeter.clock(0) == "0:00")
        #expect(ProgressMeter.clock(18.2) == "0:18")
        #expect(ProgressMeter.clock(18.7) == "0:19")
        #expect(ProgressMeter.clock(65) == "1:05")
        #expect(ProgressMeter.clock(3600 + 2 * 60 + 3) == "1:02:03")
    }
}
