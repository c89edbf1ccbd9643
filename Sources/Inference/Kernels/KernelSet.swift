import KernelsAVX512
import KernelsAVX512VNNI
import PanelFormat
import ScribeCore

/// The integer micro-kernels a CPU runs, chosen at run time from its features. Every set
/// gives the same bits (integer sums are exact; the float folds are the same operations in
/// the same order), so a set is a matter of speed only.
public enum KernelSet: String, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// AVX2 + FMA, `vpmaddubsw` on 256 bits: the floor every Scribe CPU has.
    case avx2
    /// AVX-512 F, BW and VL: `vpmaddubsw` on 512 bits.
    case avx512
    /// AVX-512 VNNI: `vpdpbusd` on 512 bits, one instruction for four multiply-adds a lane.
    case avx512VNNI = "avx512-vnni"

    /// The best set this CPU runs, unless `SCRIBE_KERNELS` names another it runs.
    public static let current: KernelSet = (try? selected(environment: ProcessEnvironment.current)) ?? best

    /// The best set the CPU's flags allow.
    public static var best: KernelSet { supported.max() ?? .avx2 }

    /// Sets the CPU runs (the kernel reports AVX-512 only where it saves its registers).
    public static var supported: [KernelSet] { allCases.filter { $0.runs(on: CPUFlags.current) } }

    /// `SCRIBE_KERNELS` when set: it must name a set this CPU runs.
    public static func selected(environment: [String: String]) throws -> KernelSet {
        guard let name = environment["SCRIBE_KERNELS"], !name.isEmpty else { return best }
        guard let set = KernelSet(rawValue: name) else {
            throw KernelSetError(description:
                "SCRIBE_KERNELS=\(name) is not a kernel set; use one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard set.runs(on: CPUFlags.current) else {
            throw KernelSetError(description:
                "SCRIBE_KERNELS=\(name): this CPU lacks \(set.requiredFlags.subtracting(CPUFlags.current).sorted().joined(separator: ", "))")
        }
        return set
    }

    /// The /proc/cpuinfo flags the set needs.
    public var requiredFlags: Set<String> {
        switch self {
        case .avx2: ["avx2", "fma", "f16c"]
        case .avx512: ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl"]
        case .avx512VNNI: ["avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni"]
        }
    }

    public func runs(on flags: Set<String>) -> Bool { requiredFlags.isSubset(of: flags) }

    public var description: String {
        switch self {
        case .avx2: "avx2 (vpmaddubsw, 256-bit)"
        case .avx512: "avx512 (vpmaddubsw, 512-bit)"
        case .avx512VNNI: "avx512-vnni (vpdpbusd, 512-bit)"
        }
    }

    public static func < (a: KernelSet, b: KernelSet) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// Multiply-adds per second of one thread in a loop of `vpdpbusd` with nothing to load
    /// (`DotProductLoop`): the CPU's int8 ceiling; nil for the sets without VNNI.
    public func measureCeiling(seconds: Double = 0.3) -> Double? {
        guard self == .avx512VNNI else { return nil }
        var iterations = 1 << 16
        while true {
            let start = ContinuousClock.now
            _ = DotProductLoop.run(iterations: iterations, seed: Int32(truncatingIfNeeded: iterations))
            let taken = start.duration(to: .now).seconds
            if taken >= seconds || iterations >= 1 << 34 {
                return Double(iterations * DotProductLoop.multiplyAddsPerIteration) / taken
            }
            iterations *= 2
        }
    }

    /// The micro-kernel for 4-bit panels.
    var nibbleTile: PanelTileKernel {
        switch self {
        case .avx2: NibblePanelKernel.tileAVX2
        case .avx512: KernelsAVX512.NibbleTile512.tile
        case .avx512VNNI: KernelsAVX512VNNI.NibbleTile512.tile
        }
    }

    /// Whether the 8-bit tile takes activation codes offset by 128 (`PanelTile.codes` as
    /// c + 128, unsigned): `vpdpbusd` then multiplies them with the signed weights directly.
    var byteTileTakesOffsetCodes: Bool { self == .avx512VNNI }

    /// The micro-kernel for 8-bit panels.
    var byteTile: PanelTileKernel {
        switch self {
        case .avx2: BytePanelKernel.tileAVX2
        case .avx512: KernelsAVX512.ByteTile512.tile
        case .avx512VNNI: KernelsAVX512VNNI.ByteTile512.tile
        }
    }
}

/// `SCRIBE_KERNELS` names no set, or one this CPU cannot run.
public struct KernelSetError: Error, CustomStringConvertible, Sendable {
    public var description: String
}
