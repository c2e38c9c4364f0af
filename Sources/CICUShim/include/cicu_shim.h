/*
 * cicu_shim.h -- the only header Swift sees for ICU.
 *
 * It deliberately includes NO ICU header: Debian's ICU renames every symbol (u_foo -> u_foo_72) and ICU headers
 * clash with Foundation's private ICU module. The .c file includes <unicode/...> and calls the plain names.
 *
 * Conventions: `err` is an ICU UErrorCode (0 = U_ZERO_ERROR, > 0 = failure, 15 = U_BUFFER_OVERFLOW_ERROR).
 * UTF-8 in, UTF-8 out; ill-formed input UTF-8 is replaced by U+FFFD. Functions that write into `dst` return the full
 * length of the result in bytes; when that is larger than `cap`, *err is 15 and the caller retries with a larger buffer.
 */
#ifndef CICU_SHIM_H
#define CICU_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Opaque word-break iterator over UTF-8 text (a UBreakIterator plus its UText). Not thread-safe. */
typedef struct cicu_wordbreak cicu_wordbreak;
/** Opaque ICU transliterator. Not thread-safe. */
typedef struct cicu_translit cicu_translit;

/** The symbolic name of an ICU error code, e.g. "U_BUFFER_OVERFLOW_ERROR". Never NULL. */
const char *cicu_error_name(int32_t err);
/** Writes the ICU version, such as "72.1", NUL-terminated into `out` (at most `cap` bytes). */
void cicu_version(char *out, int32_t cap);

/* ---- word breaking (UBRK_WORD) over UTF-8; boundaries are UTF-8 byte offsets ---- */

/** Open a word-break iterator for `locale` ("" = root). Returns NULL on failure. Slow-ish: open once, then clone. */
cicu_wordbreak *cicu_wordbreak_open(const char *locale, int32_t *err);
/** Clone an iterator (thread-safe with respect to `proto`). Returns NULL on failure. */
cicu_wordbreak *cicu_wordbreak_clone(const cicu_wordbreak *proto, int32_t *err);
void cicu_wordbreak_close(cicu_wordbreak *wb);
/** Point the iterator at `text` (not copied: it must stay valid and unchanged until the next set/clear). */
void cicu_wordbreak_set_text(cicu_wordbreak *wb, const uint8_t *text, int64_t len, int32_t *err);
/** Drop the reference to the text last set (points the iterator at an empty string). */
void cicu_wordbreak_clear(cicu_wordbreak *wb);
/**
 * Next segment: writes its byte range [*start, *end) and its rule status (0 = none/punctuation/space,
 * 100.. number, 200.. letter word, 300.. kana, 400.. ideographic). Returns 1, or 0 when there are no more segments.
 */
int32_t cicu_wordbreak_next(cicu_wordbreak *wb, int64_t *start, int64_t *end, int32_t *ruleStatus);

/* ---- normalisation ---- */

/** Bit flags for cicu_fold_utf8, applied in this order. */
enum {
    CICU_FOLD_NFKC_CASEFOLD = 1, /**< NFKC_Casefold (NFKC + full case folding + removal of default ignorables) */
    CICU_FOLD_STRIP_MARKS = 2    /**< NFD, remove nonspacing marks (Mn) on Latin/Greek/Cyrillic/Common bases, NFC */
};
/** Apply the `flags` foldings to UTF-8 `src`; result (UTF-8) into `dst`. Returns the result length (see top). */
int32_t cicu_fold_utf8(const uint8_t *src, int32_t len, int32_t flags, uint8_t *dst, int32_t cap, int32_t *err);

/* ---- transliteration ---- */

/** Open a transliterator from an ICU transform id such as "NFD; [:Nonspacing Mark:] Remove; NFC". Slow: ~ms. */
cicu_translit *cicu_translit_open(const char *id, int32_t *err);
cicu_translit *cicu_translit_clone(const cicu_translit *proto, int32_t *err);
void cicu_translit_close(cicu_translit *t);
/** Transliterate UTF-8 `src` into `dst`. Returns the result length (see top). Uses `t` mutably: one thread at a time. */
int32_t cicu_translit_utf8(cicu_translit *t, const uint8_t *src, int32_t len, uint8_t *dst, int32_t cap, int32_t *err);

#ifdef __cplusplus
}
#endif

#endif /* CICU_SHIM_H */
