/* text.c — see text.h. */
#include "text.h"

#include <stdio.h>
#include <string.h>

const char *text_show(char *buf, size_t size, const void *str, size_t len) {
    const uint8_t *s = str;
    size_t o = 0, i;
    const size_t cut = 96;
    if (size < 8) {
        if (size) buf[0] = '\0';
        return buf;
    }
    for (i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (o + 8 >= size || (i >= cut && (c & 0xC0) != 0x80)) {
            memcpy(buf + o, "...", 3);
            o += 3;
            break;
        }
        if (c >= 0x80) { /* a whole well-formed sequence, or the byte escaped */
            size_t k = utf8_seq(s + i, len - i);
            if (k && o + k + 8 < size) {
                memcpy(buf + o, s + i, k);
                o += k;
                i += k - 1;
                continue;
            }
        }
        if (c < 0x20 || c >= 0x7F || c == '\'' || c == '\\') {
            snprintf(buf + o, size - o, "\\x%02x", c);
            o += 4;
        } else {
            buf[o++] = (char)c;
        }
    }
    buf[o] = '\0';
    return buf;
}

void text_vmessage(char *msg, size_t size, const char *label, int with_offset, uint64_t offset,
                   const char *fmt, va_list ap) {
    size_t used = 0;
    int n = 0;
    if (!size) return;
    msg[0] = '\0';
    if (label && with_offset)
        n = snprintf(msg, size, "%s: byte %llu: ", label, (unsigned long long)offset);
    else if (label)
        n = snprintf(msg, size, "%s: ", label);
    if (n > 0) used = (size_t)n < size ? (size_t)n : size - 1;
    vsnprintf(msg + used, size - used, fmt, ap);
}
