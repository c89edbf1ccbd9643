#define _GNU_SOURCE
#include "blas_boot.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

scribe_isa_class scribe_blas_core_isa(const char *core_name) {
    static const char *avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *avx2[] = {"Haswell", "Zen", NULL};
    if (core_name == NULL) return scribe_isa_generic;
    for (const char **name = avx512; *name; name++)
        if (strcasecmp(core_name, *name) == 0) return scribe_isa_avx512;
    for (const char **name = avx2; *name; name++)
        if (strcasecmp(core_name, *name) == 0) return scribe_isa_avx2;
    return scribe_isa_generic;
}

const char *scribe_blas_core_decision(scribe_isa_class cpu, const char *detected_core,
                                      const char *user_coretype, int already_reexecuted) {
    if (user_coretype != NULL && user_coretype[0] != '\0') return NULL;
    if (already_reexecuted) return NULL;
    if (detected_core == NULL) return NULL;
    if (scribe_blas_core_isa(detected_core) >= cpu) return NULL;
    switch (cpu) {
    case scribe_isa_avx512: return "SkylakeX";
    case scribe_isa_avx2: return "Haswell";
    default: return NULL;
    }
}

scribe_isa_class scribe_cpu_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    // libgcc's checks include the OS having enabled the register state (XGETBV).
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
        return scribe_isa_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return scribe_isa_avx2;
#endif
    return scribe_isa_generic;
}

const char *scribe_blas_loaded_core(void) {
    // Looked up rather than linked so this target has no build dependency on OpenBLAS.
    char *(*corename)(void) = (char *(*)(void))dlsym(RTLD_DEFAULT, "openblas_get_corename");
    return corename ? corename() : NULL;
}

// glibc passes (argc, argv, envp) to ELF constructors.
__attribute__((constructor))
static void scribe_blas_boot(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
#if defined(__x86_64__)
    // Inference is compiled for AVX2, FMA and F16C: stop here with the reason, not at a SIGILL later.
    if (scribe_cpu_isa() == scribe_isa_generic || !__builtin_cpu_supports("f16c")) {
        fputs("scribe: this CPU lacks AVX2, FMA or F16C (x86-64-v3), which Scribe's kernels are built for\n", stderr);
        _exit(70);
    }
#endif
    const char *detected = scribe_blas_loaded_core();
    // Test hook: behave as if OpenBLAS had fallen back to this core, so the re-exec path
    // can be exercised on machines where OpenBLAS recognises the CPU.
    const char *assumed = getenv("SCRIBE_BLAS_ASSUME_DETECTED");
    if (assumed != NULL && assumed[0] != '\0' && getenv(SCRIBE_BLAS_REEXEC_ENV) == NULL) detected = assumed;
    const char *choice = scribe_blas_core_decision(
        scribe_cpu_isa(), detected, getenv("OPENBLAS_CORETYPE"),
        getenv(SCRIBE_BLAS_REEXEC_ENV) != NULL);
    if (choice == NULL || argv == NULL) return;
    setenv("OPENBLAS_CORETYPE", choice, 1);
    setenv(SCRIBE_BLAS_REEXEC_ENV, detected, 1);
    execv("/proc/self/exe", argv);
    // exec failed: carry on with the slow kernels rather than not at all.
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(SCRIBE_BLAS_REEXEC_ENV);
    fprintf(stderr, "scribe: could not re-execute with OPENBLAS_CORETYPE=%s; using %s kernels\n",
            choice, detected);
}
