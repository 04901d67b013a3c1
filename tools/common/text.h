/* text.h — text helpers shared by the tools' input readers (safetensors, GGUF): UTF-8
 * well-formedness, a printable rendering of hostile names, and "LABEL: byte N: what" messages.
 * libecqf has its own (internal) UTF-8 check: the tools do not reach into the library's
 * internals. */
#ifndef ECQF_TOOLS_TEXT_H
#define ECQF_TOOLS_TEXT_H

#include <stdarg.h>
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

/* A printable rendering of a (possibly hostile) byte string into buf[0..size), for messages:
 * control bytes, DEL, quotes, backslashes and ill-formed UTF-8 escaped as \xNN, well-formed
 * UTF-8 kept, cut with "..." after about 96 bytes on a character boundary. Returns buf. */
const char *text_show(char *buf, size_t size, const void *s, size_t len);

/* Writes "LABEL: byte OFFSET: " (with_offset), "LABEL: " (label only) or nothing, then the
 * formatted text, into msg[0..size), truncating safely. */
void text_vmessage(char *msg, size_t size, const char *label, int with_offset, uint64_t offset,
                   const char *fmt, va_list ap);

#endif
