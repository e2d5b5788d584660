/*
 * kfk — how a consumed message is printed: kcat's -f format string, one
 * JSON object per line (--json), or by default the value (with -K, key,
 * delimiter, value) followed by the message delimiter.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "kfk.h"

static const char FORMAT_CHARS[] = "tpokKsSThR%";

bool kfk_format_check(const char *fmt)
{
    for (const char *p = fmt; *p; p++) {
        if (*p == '%') {
            if (!p[1] || !strchr(FORMAT_CHARS, p[1])) {
                fprintf(stderr, "kfk: bad format '%s': unknown %%%c (known: %%t %%p %%o %%k %%K %%s %%S %%T %%h "
                                "%%%%)\n",
                        fmt, p[1] ? p[1] : ' ');
                return false;
            }
            p++;
        } else if (*p == '\\') {
            if (!p[1] || !strchr("ntr\\0", p[1])) {
                fprintf(stderr, "kfk: bad format '%s': unknown escape \\%c\n", fmt, p[1] ? p[1] : ' ');
                return false;
            }
            p++;
        }
    }
    return true;
}

static void put_bytes(FILE *f, const void *p, size_t len, bool null_as_word)
{
    if (p)
        fwrite(p, 1, len, f);
    else if (null_as_word)
        fputs("NULL", f);
}

static void put_headers(FILE *f, const kafka_message *m, bool null_as_word)
{
    for (size_t i = 0; i < m->n_headers; i++) {
        const kafka_header *h = &m->headers[i];
        if (i)
            putc(',', f);
        fwrite(h->key, 1, h->key_len, f);
        putc('=', f);
        put_bytes(f, h->value, h->value_len, null_as_word);
    }
}

static void put_format(FILE *f, const kfk_format *fm, const kafka_message *m)
{
    for (const char *p = fm->fmt; *p; p++) {
        if (*p == '\\') {
            p++;
            putc(*p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p == '0' ? '\0' : '\\', f);
            continue;
        }
        if (*p != '%') {
            putc(*p, f);
            continue;
        }
        switch (*++p) {
        case 't': fputs(m->topic, f); break;
        case 'p': fprintf(f, "%" PRId32, m->partition); break;
        case 'o': fprintf(f, "%" PRId64, m->offset); break;
        case 'k': put_bytes(f, m->key, m->key_len, fm->null_as_word); break;
        case 'K': fprintf(f, "%lld", m->key ? (long long)m->key_len : -1LL); break;
        case 's': put_bytes(f, m->value, m->value_len, fm->null_as_word); break;
        case 'S': fprintf(f, "%lld", m->value ? (long long)m->value_len : -1LL); break;
        case 'T': fprintf(f, "%" PRId64, m->timestamp_ms); break;
        case 'h': put_headers(f, m, fm->null_as_word); break;
        case 'R': { /* value length as a 4-byte big-endian integer, then nothing (kcat) */
            uint32_t n = m->value ? (uint32_t)m->value_len : UINT32_MAX;
            unsigned char b[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                                  (unsigned char)n};
            fwrite(b, 1, 4, f);
            break;
        }
        default: putc('%', f); break;
        }
    }
}

static void put_json(FILE *f, const kafka_message *m)
{
    fputs("{\"topic\":", f);
    kfk_json_str(f, m->topic, strlen(m->topic));
    fprintf(f, ",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"timestamp\":%" PRId64 ",\"key\":", m->partition,
            m->offset, m->timestamp_ms);
    kfk_json_str(f, m->key, m->key_len);
    fputs(",\"value\":", f);
    kfk_json_str(f, m->value, m->value_len);
    fputs(",\"headers\":[", f);
    for (size_t i = 0; i < m->n_headers; i++) {
        fputs(i ? ",{\"key\":" : "{\"key\":", f);
        kfk_json_str(f, m->headers[i].key, m->headers[i].key_len);
        fputs(",\"value\":", f);
        kfk_json_str(f, m->headers[i].value, m->headers[i].value_len);
        putc('}', f);
    }
    fputs("]}\n", f);
}

void kfk_format_message(FILE *f, const kfk_format *fm, const kafka_message *m)
{
    switch (fm->mode) {
    case KFK_OUT_JSON: put_json(f, m); break;
    case KFK_OUT_FORMAT: put_format(f, fm, m); break;
    case KFK_OUT_DEFAULT:
        if (fm->key_delim) {
            put_bytes(f, m->key, m->key_len, fm->null_as_word);
            fwrite(fm->key_delim, 1, fm->key_delim_len, f);
        }
        put_bytes(f, m->value, m->value_len, fm->null_as_word);
        fwrite(fm->msg_delim, 1, fm->msg_delim_len, f);
        break;
    }
}

char *kfk_unescape(const char *s, size_t *len)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out)
        return NULL;
    for (const char *p = s; *p; p++) {
        if (*p != '\\' || !p[1]) {
            *o++ = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case '0': *o++ = '\0'; break;
        case 'x':
            if (p[1] && p[2] && strchr("0123456789abcdefABCDEF", p[1]) && strchr("0123456789abcdefABCDEF", p[2])) {
                char hex[3] = {p[1], p[2], 0};
                *o++ = (char)strtol(hex, NULL, 16);
                p += 2;
                break;
            }
            *o++ = '\\', *o++ = 'x';
            break;
        default: *o++ = *p; break;
        }
    }
    *len = (size_t)(o - out);
    *o = 0;
    return out;
}
