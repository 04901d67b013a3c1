/* utf8.h — the UTF-8 well-formedness check shared by the tools' input readers (safetensors, GGUF).
 * libecqf has its own (internal) copy: the tools do not reach into the library's internals. */
#ifndef ECQF_TOOLS_UTF8_H
#define ECQF_TOOLS_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 sequence at s[0..avail), or 0 (RFC 3629; Unicode table 3-7:
 * no overlongs, no surrogates, nothing above U+10FFFF). avail must be at least 1. */
static inline size_t utf8_seq(const uint8_t *s, size_t avail) {
    uint8_t c = s[0];
    uint8_t lo = 0x80, hi = 0xBF;
    size_t need, k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (avail < need + 1) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (k = 2; k <= need; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return need + 1;
}

/* Offset of the first ill-formed byte of s[0..len), or len when all of it is well-formed. */
static inline size_t utf8_bad_at(const uint8_t *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t k = utf8_seq(s + i, len - i);
        if (!k) return i;
        i += k;
    }
    return len;
}

#endif
