import Foundation
import Inference
import Testing
import TestSupport

@Suite struct BLASKernelSelectionTests {
    typealias ISA = BLASKernelSelection.ISA

    @Test(arguments: [
        // (cpu, detected core, environment, expected OPENBLAS_CORETYPE or nil)
        (ISA.avx512, "Prescott", [String: String](), "SkylakeX"),
        (ISA.avx2, "Prescott", [:], "Haswell"),
        (ISA.avx2, "Core2", [:], "Haswell"),
        (ISA.avx512, "Haswell", [:], "SkylakeX"),
        (ISA.avx512, "SkylakeX", [:], nil),
        (ISA.avx2, "Zen", [:], nil),
        (ISA.avx2, "Haswell", [:], nil),
        (ISA.generic, "Prescott", [:], nil),
        (ISA.avx512, "Prescott", ["OPENBLAS_CORETYPE": "Prescott"], nil),
        (ISA.avx512, "Prescott", ["OPENBLAS_CORETYPE": ""], "SkylakeX"),
        (ISA.avx512, "Prescott", ["SCRIBE_BLAS_REPLACED_CORE": "Prescott"], nil),
    ] as [(ISA, String, [String: String], String?)])
    func decision(cpu: ISA, detected: String, environment: [String: String], expected: String?) {
        #expect(BLASKernelSelection.decision(cpu: cpu, detectedCore: detected, environment: environment) == expected)
    }

    @Test func coreNamesMapToTheirInstructionSets() {
        #expect(BLASKernelSelection.isa(ofCore: "SkylakeX") == .avx512)
        #expect(BLASKernelSelection.isa(ofCore: "cooperlake") == .avx512)
        #expect(BLASKernelSelection.isa(ofCore: "Zen") == .avx2)
        #expect(BLASKernelSelection.isa(ofCore: "Haswell") == .avx2)
        #expect(BLASKernelSelection.isa(ofCore: "Prescott") == .generic)
        #expect(BLASKernelSelection.isa(ofCore: "Sandybridge") == .generic)
    }

    /// The test process itself went through the start-up check.
    @Test func thisProcessRunsKernelsMatchingTheCPU() {
        let selection = BLASKernelSelection.current
        if selection.userCoreType == nil {
            #expect(selection.isOptimal, "core \(selection.core) on a \(selection.cpu) CPU")
        }
    }

    /// End to end through the real binary: a process whose OpenBLAS fell back to Prescott
    /// re-executes itself with a matching OPENBLAS_CORETYPE.
    @Test func scribeReexecutesAfterAGenericFallback() throws {
        let cpu = BLASKernelSelection.current.cpu
        guard cpu != .generic else { return }
        var environment = Repository.environment
        environment.removeValue(forKey: "OPENBLAS_CORETYPE")
        environment.removeValue(forKey: "SCRIBE_BLAS_REPLACED_CORE")
        environment["SCRIBE_BLAS_ASSUME_DETECTED"] = "Prescott"
        let result = try ChildProcess.run([Executables.scribe, "doctor", "--gemm-seconds", "0.05"], environment: environment)
        let expectedCore = cpu == .avx512 ? "SkylakeX" : "Haswell"
        #expect(result.standardOutput.contains("OpenBLAS chose Prescott and Scribe re-executed with OPENBLAS_CORETYPE=\(expectedCore)"),
                "\(result.standardOutput)\n\(result.standardError)")
        #expect(result.standardOutput.contains("OK    blas.core   \(expectedCore) kernels"))
    }

    @Test func aUserChosenCoreIsRespected() throws {
        var environment = Repository.environment
        environment["OPENBLAS_CORETYPE"] = "Prescott"
        environment.removeValue(forKey: "SCRIBE_BLAS_REPLACED_CORE")
        let result = try ChildProcess.run([Executables.scribe, "doctor", "--gemm-seconds", "0.05"], environment: environment)
        #expect(result.standardOutput.contains("Prescott kernels"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("OPENBLAS_CORETYPE=Prescott set by the user"))
    }
}
