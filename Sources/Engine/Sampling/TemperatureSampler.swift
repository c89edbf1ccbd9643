/// `temperature` > 0: divides the logits by the temperature (sharper below 1, flatter above).
public struct TemperatureSampler: Sampler {
    public let name = "temperature"
    let temperature: Float

    public init(_ temperature: Double) {
        self.temperature = Float(temperature)
    }

    public func apply(to candidates: inout TokenCandidates) {
        guard temperature != 1 else { return }
        VectorMath.scale(candidates.logits.baseAddress!, candidates.count, by: 1 / temperature)
    }
}
