/*
 * kfk — JSON string output. Kafka keys and values are bytes; JSON strings
 * are Unicode. Valid UTF-8 passes through (escaped where JSON requires);
 * a byte that does not start a valid UTF-8 sequence is written as \u00XX,
 * so the output always parses and ASCII/UTF-8 data round-trips exactly.
 */
#include "kfk.h"

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    uint32_t min, cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, min = 0x80, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, min = 0x800, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0; /* overlong, out of range or a surrogate */
    return len;
}

void kfk_json_str(FILE *f, const void *data, size_t len)
{
    if (!data) {
        fputs("null", f);
        return;
    }
    const unsigned char *p = data;
    putc('"', f);
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t seq = utf8_seq(p + i, len - i);
        if (seq > 1) {
            fwrite(p + i, 1, seq, f);
            i += seq;
            continue;
        }
        i++;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20 || c >= 0x7F)
                fprintf(f, "\\u%04x", c);
            else
                putc(c, f);
        }
    }
    putc('"', f);
}
