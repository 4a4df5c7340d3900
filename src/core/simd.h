/* LT_SIMD marks a hot elementwise loop to be compiled for AVX-512, AVX2 and the x86-64
 * baseline; the loader picks the best one for the running CPU (GCC/Clang target_clones,
 * an ifunc), so one binary is both portable and fast. Results do not depend on the
 * clone: FP contraction is off (CMakeLists.txt: -ffp-contract=off) and vector add, mul,
 * div and sqrt round exactly as the scalar ones. */
#ifndef LT_SIMD_H
#define LT_SIMD_H

#if defined(__x86_64__) && defined(__ELF__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(LURN_NO_TARGET_CLONES)
#define LT_SIMD __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LT_SIMD
#endif

#endif
