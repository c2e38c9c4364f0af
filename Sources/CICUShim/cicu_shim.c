/*
 * cicu_shim.c -- thin C wrappers over ICU (see include/cicu_shim.h for why this exists).
 * Includes ICU headers and calls the plain (un-renamed) names; urename.h maps them to the versioned symbols.
 */
#include "cicu_shim.h"

#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/uclean.h>
#include <unicode/uscript.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>
#include <unicode/utrans.h>
#include <unicode/uversion.h>
#include <unicode/utf16.h>

/* ---------------------------------------------------------------- misc */

const char *cicu_error_name(int32_t err) {
    const char *name = u_errorName((UErrorCode)err);
    return name ? name : "U_UNKNOWN_ERROR";
}

void cicu_version(char *out, int32_t cap) {
    char text[U_MAX_VERSION_STRING_LENGTH];
    UVersionInfo v;
    if (!out || cap <= 0) return;
    u_getVersion(v);
    u_versionToString(v, text);
    strncpy(out, text, (size_t)cap - 1);
    out[cap - 1] = 0;
}

/* ---------------------------------------------------------------- word break */

struct cicu_wordbreak {
    UBreakIterator *bi;
    UText text;       /* the UTF-8 UText; ubrk_setUText takes a shallow clone, but keep ours alive anyway */
    int32_t hasText;
};

static const char kEmpty[1] = {0};

static cicu_wordbreak *wordbreak_wrap(UBreakIterator *bi, int32_t *err) {
    cicu_wordbreak *wb = (cicu_wordbreak *)calloc(1, sizeof(cicu_wordbreak));
    if (!wb) {
        ubrk_close(bi);
        *err = U_MEMORY_ALLOCATION_ERROR;
        return NULL;
    }
    wb->bi = bi;
    UText init = UTEXT_INITIALIZER;
    wb->text = init;
    wb->hasText = 0;
    return wb;
}

cicu_wordbreak *cicu_wordbreak_open(const char *locale, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_open(UBRK_WORD, locale, NULL, 0, &e);
    if (U_FAILURE(e) || !bi) {
        *err = U_FAILURE(e) ? e : U_INTERNAL_PROGRAM_ERROR;
        if (bi) ubrk_close(bi);
        return NULL;
    }
    *err = U_ZERO_ERROR;
    return wordbreak_wrap(bi, err);
}

cicu_wordbreak *cicu_wordbreak_clone(const cicu_wordbreak *proto, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    UBreakIterator *bi = ubrk_clone(proto->bi, &e);
    if (U_FAILURE(e) || !bi) {
        *err = U_FAILURE(e) ? e : U_INTERNAL_PROGRAM_ERROR;
        if (bi) ubrk_close(bi);
        return NULL;
    }
    *err = U_ZERO_ERROR;
    return wordbreak_wrap(bi, err);
}

void cicu_wordbreak_close(cicu_wordbreak *wb) {
    if (!wb) return;
    ubrk_close(wb->bi);
    utext_close(&wb->text);
    free(wb);
}

void cicu_wordbreak_set_text(cicu_wordbreak *wb, const uint8_t *text, int64_t len, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    if (!text || len <= 0) {
        text = (const uint8_t *)kEmpty;
        len = 0;
    }
    utext_openUTF8(&wb->text, (const char *)text, len, &e);
    if (U_SUCCESS(e)) ubrk_setUText(wb->bi, &wb->text, &e);
    wb->hasText = U_SUCCESS(e);
    *err = e;
}

void cicu_wordbreak_clear(cicu_wordbreak *wb) {
    int32_t e = 0;
    cicu_wordbreak_set_text(wb, NULL, 0, &e);
    wb->hasText = 0;
}

int32_t cicu_wordbreak_next(cicu_wordbreak *wb, int64_t *start, int64_t *end, int32_t *ruleStatus) {
    if (!wb->hasText) return 0;
    int32_t s = ubrk_current(wb->bi);
    int32_t e = ubrk_next(wb->bi);
    if (e == UBRK_DONE) return 0;
    *start = s;
    *end = e;
    *ruleStatus = ubrk_getRuleStatus(wb->bi);
    return 1;
}

/* ---------------------------------------------------------------- UChar buffers */

enum { kStackUnits = 512 };

typedef struct {
    UChar *p;
    int32_t cap;
    UChar stack[kStackUnits];
} ubuf;

static void ubuf_init(ubuf *b) {
    b->p = b->stack;
    b->cap = kStackUnits;
}

static void ubuf_free(ubuf *b) {
    if (b->p != b->stack) free(b->p);
    b->p = b->stack;
    b->cap = kStackUnits;
}

/* Make room for n units (contents are not kept). */
static int ubuf_reserve(ubuf *b, int32_t n) {
    if (n <= b->cap) return 1;
    UChar *p = (UChar *)malloc((size_t)n * sizeof(UChar));
    if (!p) return 0;
    if (b->p != b->stack) free(b->p);
    b->p = p;
    b->cap = n;
    return 1;
}

/* UTF-8 -> UTF-16 with U+FFFD substitution. Returns length or -1 (err set). */
static int32_t from_utf8(ubuf *dst, const uint8_t *src, int32_t len, UErrorCode *e) {
    /* each UTF-8 byte yields at most one UTF-16 unit */
    if (!ubuf_reserve(dst, len > 0 ? len : 1)) { *e = U_MEMORY_ALLOCATION_ERROR; return -1; }
    int32_t n = 0;
    u_strFromUTF8WithSub(dst->p, dst->cap, &n, (const char *)src, len, 0xFFFD, NULL, e);
    if (*e == U_STRING_NOT_TERMINATED_WARNING) *e = U_ZERO_ERROR;
    return U_FAILURE(*e) ? -1 : n;
}

/* Normalize src[0..len) into dst. Returns length or -1. */
static int32_t normalize(const UNormalizer2 *norm, const ubuf *src, int32_t len, ubuf *dst, UErrorCode *e) {
    int32_t n = unorm2_normalize(norm, src->p, len, dst->p, dst->cap, e);
    if (*e == U_BUFFER_OVERFLOW_ERROR) {
        *e = U_ZERO_ERROR;
        if (!ubuf_reserve(dst, n)) { *e = U_MEMORY_ALLOCATION_ERROR; return -1; }
        n = unorm2_normalize(norm, src->p, len, dst->p, dst->cap, e);
    }
    if (*e == U_STRING_NOT_TERMINATED_WARNING) *e = U_ZERO_ERROR;
    return U_FAILURE(*e) ? -1 : n;
}

/* Whether accents on a base character of this script are "accents" to fold (Latin, Greek, Cyrillic, and
 * script-neutral or unassigned characters). Marks in other scripts (kana voicing marks, Indic/Thai vowel signs, ...) carry
 * meaning and are kept. */
static int folds_marks(UChar32 base) {
    UErrorCode e = U_ZERO_ERROR;
    UScriptCode sc = uscript_getScript(base, &e);
    if (U_FAILURE(e)) return 0;
    return sc == USCRIPT_LATIN || sc == USCRIPT_GREEK || sc == USCRIPT_CYRILLIC || sc == USCRIPT_COMMON ||
           sc == USCRIPT_INHERITED || sc == USCRIPT_UNKNOWN;
}

/* Remove nonspacing marks (gc = Mn) in place when their base character's script folds marks (see above).
 * Marks with no base character before them are removed. */
static int32_t remove_mn(UChar *s, int32_t len) {
    int32_t i = 0, o = 0;
    int fold = 1;
    while (i < len) {
        int32_t start = i;
        UChar32 c;
        U16_NEXT(s, i, len, c);
        int8_t type = u_charType(c);
        if (type == U_NON_SPACING_MARK) {
            if (fold) continue;
        } else if (type != U_COMBINING_SPACING_MARK && type != U_ENCLOSING_MARK) {
            fold = folds_marks(c);
        }
        while (start < i) s[o++] = s[start++];
    }
    return o;
}

/* UTF-16 -> UTF-8 into the caller's buffer. Returns the full length (overflow reported in *e). */
static int32_t to_utf8(uint8_t *dst, int32_t cap, const UChar *src, int32_t len, UErrorCode *e) {
    int32_t n = 0;
    u_strToUTF8WithSub((char *)dst, cap, &n, src, len, 0xFFFD, NULL, e);
    if (*e == U_STRING_NOT_TERMINATED_WARNING) *e = U_ZERO_ERROR;
    return n;
}

/* ---------------------------------------------------------------- folding */

int32_t cicu_fold_utf8(const uint8_t *src, int32_t len, int32_t flags, uint8_t *dst, int32_t cap, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    ubuf a, b;
    ubuf_init(&a);
    ubuf_init(&b);
    ubuf *cur = &a, *other = &b, *t;
    int32_t out = 0, n;
    int32_t curlen = from_utf8(cur, src, len, &e);
    if (curlen < 0) goto done;

    if (flags & CICU_FOLD_NFKC_CASEFOLD) {
        const UNormalizer2 *nfkccf = unorm2_getNFKCCasefoldInstance(&e);
        if (U_FAILURE(e)) goto done;
        n = normalize(nfkccf, cur, curlen, other, &e);
        if (n < 0) goto done;
        t = cur; cur = other; other = t; curlen = n;
    }
    if (flags & CICU_FOLD_STRIP_MARKS) {
        const UNormalizer2 *nfd = unorm2_getNFDInstance(&e);
        const UNormalizer2 *nfc = unorm2_getNFCInstance(&e);
        if (U_FAILURE(e)) goto done;
        n = normalize(nfd, cur, curlen, other, &e);
        if (n < 0) goto done;
        n = remove_mn(other->p, n);
        t = cur; cur = other; other = t; curlen = n;
        n = normalize(nfc, cur, curlen, other, &e);
        if (n < 0) goto done;
        t = cur; cur = other; other = t; curlen = n;
    }
    out = to_utf8(dst, cap, cur->p, curlen, &e);
done:
    ubuf_free(&a);
    ubuf_free(&b);
    *err = e;
    return U_FAILURE(e) && e != U_BUFFER_OVERFLOW_ERROR ? 0 : out;
}

/* ---------------------------------------------------------------- transliteration */

struct cicu_translit {
    UTransliterator *t;
};

static cicu_translit *translit_wrap(UTransliterator *t, int32_t *err) {
    cicu_translit *w = (cicu_translit *)malloc(sizeof(cicu_translit));
    if (!w) {
        utrans_close(t);
        *err = U_MEMORY_ALLOCATION_ERROR;
        return NULL;
    }
    w->t = t;
    return w;
}

cicu_translit *cicu_translit_open(const char *id, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    ubuf idbuf;
    ubuf_init(&idbuf);
    int32_t idlen = from_utf8(&idbuf, (const uint8_t *)id, (int32_t)strlen(id), &e);
    UTransliterator *t = NULL;
    if (idlen >= 0) t = utrans_openU(idbuf.p, idlen, UTRANS_FORWARD, NULL, 0, NULL, &e);
    ubuf_free(&idbuf);
    if (U_FAILURE(e) || !t) {
        *err = U_FAILURE(e) ? e : U_INTERNAL_PROGRAM_ERROR;
        if (t) utrans_close(t);
        return NULL;
    }
    *err = U_ZERO_ERROR;
    return translit_wrap(t, err);
}

cicu_translit *cicu_translit_clone(const cicu_translit *proto, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    UTransliterator *t = utrans_clone(proto->t, &e);
    if (U_FAILURE(e) || !t) {
        *err = U_FAILURE(e) ? e : U_INTERNAL_PROGRAM_ERROR;
        if (t) utrans_close(t);
        return NULL;
    }
    *err = U_ZERO_ERROR;
    return translit_wrap(t, err);
}

void cicu_translit_close(cicu_translit *t) {
    if (!t) return;
    utrans_close(t->t);
    free(t);
}

int32_t cicu_translit_utf8(cicu_translit *t, const uint8_t *src, int32_t len, uint8_t *dst, int32_t cap, int32_t *err) {
    UErrorCode e = U_ZERO_ERROR;
    ubuf a;
    ubuf_init(&a);
    int32_t out = 0;
    int32_t alen = from_utf8(&a, src, len, &e);
    if (alen < 0) goto done;
    /* transliteration may grow the text: retry with the capacity ICU asks for */
    for (int attempt = 0; attempt < 4; attempt++) {
        ubuf work;
        ubuf_init(&work);
        int32_t wcap = alen * 2 + 16;
        if (attempt > 0) wcap = alen * (4 << attempt) + 64;
        if (!ubuf_reserve(&work, wcap)) { e = U_MEMORY_ALLOCATION_ERROR; ubuf_free(&work); goto done; }
        memcpy(work.p, a.p, (size_t)alen * sizeof(UChar));
        int32_t wlen = alen, limit = alen;
        e = U_ZERO_ERROR;
        utrans_transUChars(t->t, work.p, &wlen, work.cap, 0, &limit, &e);
        if (e == U_STRING_NOT_TERMINATED_WARNING) e = U_ZERO_ERROR;
        if (e == U_BUFFER_OVERFLOW_ERROR) { ubuf_free(&work); continue; }
        if (U_SUCCESS(e)) out = to_utf8(dst, cap, work.p, wlen, &e);
        ubuf_free(&work);
        break;
    }
done:
    ubuf_free(&a);
    *err = e;
    return U_FAILURE(e) && e != U_BUFFER_OVERFLOW_ERROR ? 0 : out;
}
