// XAI_WIDE_LOOPS marks a function whose loops run over thousands of doubles
// per explanation (path points, gradient sums, finiteness checks). GCC builds
// it twice, for AVX2 and for the baseline x86-64 the binary targets, and
// picks one when the program loads, by what the CPU supports: four doubles
// per instruction instead of two, on a binary that still runs anywhere.
// The loops' elements are independent (no sums reordered, no FMA), so both
// versions give the same bits.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define XAI_WIDE_LOOPS __attribute__((target_clones("avx2", "default")))
#else
#define XAI_WIDE_LOOPS
#endif
