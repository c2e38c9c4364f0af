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

/// Typo look-ups (FuzzyVocabulary): the indexes i in [from, n) whose 64-bit signature differs from
/// sig in at most max_bits bits, written to out (at most cap of them, in order); returns how many
/// and sets *next to the index to resume from (n when done). Uses the POPCNT instruction when the
/// CPU has it (chosen once at run time; Swift's own popcount is a bit-twiddling sequence on the
/// baseline x86-64 target).
long aisle_signature_filter(const unsigned long long *sigs, long from, long n, unsigned long long sig,
                            int max_bits, unsigned int *out, long cap, long *next);

/// Which implementation aisle_signature_filter uses: "popcnt" or "generic".
const char *aisle_signature_filter_kind(void);

#endif
