#include "vector_math.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static float dot_avx512(const float *a, const float *b, long n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s8 = _mm256_add_ps(s0, s1);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
    float s = _mm_cvtss_f32(s4);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}
#endif

static float dot_generic(const float *a, const float *b, long n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    long i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    float s = (s0 + s1) + (s2 + s3);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

typedef float (*dot_fn)(const float *, const float *, long);

static dot_fn choose(const char **kind) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) { *kind = "avx512"; return dot_avx512; }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) { *kind = "avx2"; return dot_avx2; }
#endif
    *kind = "generic";
    return dot_generic;
}

static const char *chosen_kind = 0;
static dot_fn chosen = 0;

/* Chosen once, before main (a constructor), so calls never race on it. */
__attribute__((constructor)) static void aisle_vector_math_init(void) { chosen = choose(&chosen_kind); }

float aisle_dot(const float *a, const float *b, long n) { return chosen(a, b, n); }

const char *aisle_dot_kind(void) { return chosen_kind; }

/* Signature filter for typo look-ups. */

#define AISLE_FILTER_BODY(POPCOUNT)                                             \
    long k = 0, i = from;                                                       \
    for (; i < n && k < cap; i++) {                                             \
        if (POPCOUNT(sigs[i] ^ sig) <= max_bits) out[k++] = (unsigned int)i;    \
    }                                                                           \
    *next = i;                                                                  \
    return k;

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("popcnt")))
static long filter_popcnt(const unsigned long long *sigs, long from, long n, unsigned long long sig,
                          int max_bits, unsigned int *out, long cap, long *next) {
    AISLE_FILTER_BODY(__builtin_popcountll)
}
#endif

static long filter_generic(const unsigned long long *sigs, long from, long n, unsigned long long sig,
                           int max_bits, unsigned int *out, long cap, long *next) {
    AISLE_FILTER_BODY(__builtin_popcountll)
}

typedef long (*filter_fn)(const unsigned long long *, long, long, unsigned long long, int, unsigned int *, long, long *);
static filter_fn chosen_filter = filter_generic;
static const char *chosen_filter_kind = "generic";

__attribute__((constructor)) static void aisle_signature_filter_init(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("popcnt")) { chosen_filter = filter_popcnt; chosen_filter_kind = "popcnt"; }
#endif
}

long aisle_signature_filter(const unsigned long long *sigs, long from, long n, unsigned long long sig,
                            int max_bits, unsigned int *out, long cap, long *next) {
    return chosen_filter(sigs, from, n, sig, max_bits, out, cap, next);
}

const char *aisle_signature_filter_kind(void) { return chosen_filter_kind; }
