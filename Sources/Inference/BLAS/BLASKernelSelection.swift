import CBLASBoot

#if canImport(Glibc)
import Glibc
#endif

/// What happened to OpenBLAS's kernel choice at start-up (see `CBLASBoot`).
public struct BLASKernelSelection: Sendable, Equatable {
    public enum ISA: Int, Sendable, Comparable, CustomStringConvertible {
        case generic = 0, avx2 = 1, avx512 = 2

        public static func < (lhs: ISA, rhs: ISA) -> Bool { lhs.rawValue < rhs.rawValue }

        public var description: String {
            switch self {
            case .generic: "generic"
            case .avx2: "avx2"
            case .avx512: "avx512"
            }
        }

        init(_ value: scribe_isa_class) {
            self = ISA(rawValue: Int(value.rawValue)) ?? .generic
        }

        var cValue: scribe_isa_class { scribe_isa_class(rawValue: UInt32(rawValue)) }
    }

    /// The kernel set in use now.
    public var core: String
    /// What the CPU can run.
    public var cpu: ISA
    /// Set when this process was re-executed to replace a generic core: the core it replaced.
    public var replacedCore: String?
    /// OPENBLAS_CORETYPE as the user set it (nil when Scribe chose it, or when unset).
    public var userCoreType: String?

    /// Whether the kernels in use match what the CPU can do.
    public var isOptimal: Bool { Self.isa(ofCore: core) >= cpu }

    public static var current: BLASKernelSelection {
        let replaced = getenv(SCRIBE_BLAS_REEXEC_ENV).map { String(cString: $0) }
        let coreType = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) }
        return BLASKernelSelection(
            core: BLAS.coreName,
            cpu: ISA(scribe_cpu_isa()),
            replacedCore: replaced,
            userCoreType: replaced == nil ? coreType : nil)
    }

    /// The ISA class of an OpenBLAS core's kernels.
    public static func isa(ofCore name: String) -> ISA {
        ISA(scribe_blas_core_isa(name))
    }

    /// The start-up decision: the OPENBLAS_CORETYPE to re-execute with, or nil to keep the core.
    public static func decision(
        cpu: ISA, detectedCore: String?, environment: [String: String]
    ) -> String? {
        let result = scribe_blas_core_decision(
            cpu.cValue, detectedCore, environment["OPENBLAS_CORETYPE"],
            environment[SCRIBE_BLAS_REEXEC_ENV] != nil ? 1 : 0)
        return result.map { String(cString: $0) }
    }
}
