#ifndef SCRIBE_BLAS_BOOT_H
#define SCRIBE_BLAS_BOOT_H

// OpenBLAS picks its kernels once, when the library loads, and Debian's 0.3.21
// falls back to generic "Prescott" kernels on CPUs it does not know (4-5x slower).
// A constructor in this target runs before main in every binary that links it,
// reads the chosen core and, when the CPU can do better, sets OPENBLAS_CORETYPE
// and re-executes the process once.

/// ISA class of a CPU or of an OpenBLAS core: 0 generic (SSE), 1 AVX2+FMA, 2 AVX-512.
typedef enum {
    scribe_isa_generic = 0,
    scribe_isa_avx2 = 1,
    scribe_isa_avx512 = 2,
} scribe_isa_class;

/// The ISA class an OpenBLAS core name's kernels use ("Prescott" -> generic, "Zen" -> avx2).
scribe_isa_class scribe_blas_core_isa(const char *core_name);

/// The decision, as a pure function. Returns the OPENBLAS_CORETYPE value to re-execute
/// with, or NULL to keep the current core. `user_coretype` is the environment's
/// OPENBLAS_CORETYPE (respected when set), `already_reexecuted` whether this process
/// is itself the re-executed one (never loop).
const char *scribe_blas_core_decision(scribe_isa_class cpu, const char *detected_core,
                                      const char *user_coretype, int already_reexecuted);

/// The ISA class of the running CPU, including the operating system's support.
scribe_isa_class scribe_cpu_isa(void);

/// The core OpenBLAS runs ("Zen", "SkylakeX", ...), or NULL when OpenBLAS is not loaded.
const char *scribe_blas_loaded_core(void);

/// Environment variable set on the re-executed process; its value is the core that was replaced.
#define SCRIBE_BLAS_REEXEC_ENV "SCRIBE_BLAS_REPLACED_CORE"

#endif
