/*
 * vector_math.h -- inner products for the HNSW graph, in C so they use AVX2/FMA or AVX-512 when the
 * CPU has them (chosen once at run time; the baseline x86-64 code otherwise).
 */
#ifndef AISLE_VECTOR_MATH_H
#define AISLE_VECTOR_MATH_H

/// The inner product of two float vectors of n values.
float aisle_dot(const float *a, const float *b, long n);

/// Which implementation aisle_dot uses: "avx512", "avx2", or "generic".
const char *aisle_dot_kind(void);

/// A hint to fetch the cache line at p (the next neighbour's vector while this one is scored).
static inline void aisle_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
