/*
 * kfk — reading one message from a JSON object (kfk produce --json), the
 * shape kfk consume --json writes:
 *
 *   {"key":"k"|null, "value":"v"|null, "timestamp":ms,
 *    "headers":[{"key":"h","value":"x"|null}, ...]  or  {"h":"x", ...}}
 *
 * Other members (topic, partition, offset) are read and ignored, so the
 * output of consume --json can be fed back. A missing key or value is
 * null. Strings are decoded into the caller's buffer (never longer than
 * the input), \uXXXX escapes (surrogate pairs included) as UTF-8.
 */
#include <string.h>

#include "kfk.h"

typedef struct jp {
    const char *p, *end;
    char *out; /* decoded strings go here */
    const char *err;
} jp;

static void ws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool expect(jp *j, char c)
{
    ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return true;
    }
    j->err = "unexpected character";
    return false;
}

static bool peek(jp *j, char c)
{
    ws(j);
    return j->p < j->end && *j->p == c;
}

static bool literal(jp *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) >= n && !memcmp(j->p, word, n)) {
        j->p += n;
        return true;
    }
    return false;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static void put_utf8(jp *j, uint32_t cp)
{
    if (cp < 0x80) {
        *j->out++ = (char)cp;
    } else if (cp < 0x800) {
        *j->out++ = (char)(0xC0 | (cp >> 6));
        *j->out++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *j->out++ = (char)(0xE0 | (cp >> 12));
        *j->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *j->out++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *j->out++ = (char)(0xF0 | (cp >> 18));
        *j->out++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *j->out++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *j->out++ = (char)(0x80 | (cp & 0x3F));
    }
}

/* \uXXXX (p after the 'u'), with a following low surrogate if needed. */
static bool unicode_escape(jp *j)
{
    if (j->end - j->p < 4 || hex4(j->p) < 0)
        return (j->err = "bad \\u escape"), false;
    uint32_t cp = (uint32_t)hex4(j->p);
    j->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || hex4(j->p + 2) < 0xDC00 ||
            hex4(j->p + 2) > 0xDFFF)
            return (j->err = "unpaired surrogate"), false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(j->p + 2) - 0xDC00);
        j->p += 6;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return (j->err = "unpaired surrogate"), false;
    }
    put_utf8(j, cp);
    return true;
}

/* A string or null: *s (NULL for null) and *len; decoded into j->out. */
static bool string_or_null(jp *j, const char **s, size_t *len)
{
    ws(j);
    if (literal(j, "null")) {
        *s = NULL, *len = 0;
        return true;
    }
    if (!expect(j, '"'))
        return (j->err = "expected a string or null"), false;
    char *start = j->out;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if ((unsigned char)c < 0x20)
            return (j->err = "control character in a string"), false;
        if (c != '\\') {
            *j->out++ = c;
            continue;
        }
        if (j->p == j->end)
            break;
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': *j->out++ = c; break;
        case 'b': *j->out++ = '\b'; break;
        case 'f': *j->out++ = '\f'; break;
        case 'n': *j->out++ = '\n'; break;
        case 'r': *j->out++ = '\r'; break;
        case 't': *j->out++ = '\t'; break;
        case 'u':
            if (!unicode_escape(j))
                return false;
            break;
        default: return (j->err = "bad escape"), false;
        }
    }
    if (!expect(j, '"'))
        return (j->err = "unterminated string"), false;
    *s = start, *len = (size_t)(j->out - start);
    return true;
}

static bool integer(jp *j, int64_t *v)
{
    ws(j);
    bool neg = j->p < j->end && *j->p == '-';
    j->p += neg;
    if (j->p == j->end || *j->p < '0' || *j->p > '9')
        return (j->err = "expected an integer"), false;
    int64_t n = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        if (n > (INT64_MAX - 9) / 10)
            return (j->err = "integer too large"), false;
        n = n * 10 + (*j->p++ - '0');
    }
    *v = neg ? -n : n;
    return true;
}

/* Skips any JSON value (members kfk does not use). */
static bool skip_value(jp *j, int depth)
{
    const char *s;
    size_t n;
    int64_t v;
    ws(j);
    if (depth > 32 || j->p == j->end)
        return (j->err = "value expected"), false;
    char *mark = j->out;
    bool ok;
    switch (*j->p) {
    case '"': ok = string_or_null(j, &s, &n); break;
    case '{':
    case '[': {
        char close = *j->p == '{' ? '}' : ']';
        j->p++;
        ok = true;
        if (!peek(j, close)) {
            do {
                if (close == '}')
                    ok = string_or_null(j, &s, &n) && s && expect(j, ':');
                ok = ok && skip_value(j, depth + 1);
            } while (ok && peek(j, ',') && expect(j, ','));
        }
        ok = ok && expect(j, close);
        break;
    }
    default:
        if (literal(j, "true") || literal(j, "false") || literal(j, "null"))
            ok = true;
        else {
            ok = integer(j, &v);
            if (ok && peek(j, '.')) { /* a fraction or exponent: skip it */
                while (j->p < j->end && *j->p && strchr(".0123456789eE+-", *j->p))
                    j->p++;
            }
        }
    }
    j->out = mark; /* nothing skipped is kept */
    return ok;
}

static bool header_item(jp *j, kafka_header *h)
{
    const char *k = NULL, *v = NULL;
    size_t kl = 0, vl = 0;
    bool have_key = false;
    if (!expect(j, '{'))
        return false;
    if (!peek(j, '}')) {
        do {
            const char *name;
            size_t nl;
            if (!string_or_null(j, &name, &nl) || !name || !expect(j, ':'))
                return false;
            j->out -= nl; /* the member name is not kept */
            if (nl == 3 && !memcmp(name, "key", 3)) {
                if (!string_or_null(j, &k, &kl) || !k)
                    return (j->err = "header key must be a string"), false;
                have_key = true;
            } else if (nl == 5 && !memcmp(name, "value", 5)) {
                if (!string_or_null(j, &v, &vl))
                    return false;
            } else if (!skip_value(j, 1)) {
                return false;
            }
        } while (peek(j, ',') && expect(j, ','));
    }
    if (!expect(j, '}'))
        return false;
    if (!have_key)
        return (j->err = "header without \"key\""), false;
    *h = (kafka_header){.key = k, .key_len = kl, .value = v, .value_len = vl};
    return true;
}

static bool headers(jp *j, kafka_header *hs, size_t max, size_t *n)
{
    ws(j);
    bool as_object = peek(j, '{');
    if (!as_object && !peek(j, '['))
        return (j->err = "headers must be an array or an object"), false;
    j->p++;
    char close = as_object ? '}' : ']';
    *n = 0;
    if (peek(j, close))
        return expect(j, close);
    do {
        if (*n == max)
            return (j->err = "too many headers"), false;
        kafka_header *h = &hs[*n];
        if (as_object) {
            const char *k, *v;
            size_t kl, vl;
            if (!string_or_null(j, &k, &kl) || !k || !expect(j, ':') || !string_or_null(j, &v, &vl))
                return false;
            *h = (kafka_header){.key = k, .key_len = kl, .value = v, .value_len = vl};
        } else if (!header_item(j, h)) {
            return false;
        }
        (*n)++;
    } while (peek(j, ',') && expect(j, ','));
    return expect(j, close);
}

bool kfk_json_message(const char *text, size_t len, char *buf, kafka_header *hs, size_t max_headers,
                      kafka_message *m, const char **err)
{
    jp j = {.p = text, .end = text + len, .out = buf};
    *m = (kafka_message){.timestamp_ms = KAFKA_TIMESTAMP_NONE};
    bool ok = expect(&j, '{');
    if (ok && !peek(&j, '}')) {
        do {
            const char *name;
            size_t nl;
            ok = string_or_null(&j, &name, &nl) && name && expect(&j, ':');
            if (!ok)
                break;
            j.out -= nl;
            const char *str;
            if (nl == 3 && !memcmp(name, "key", 3)) {
                ok = string_or_null(&j, &str, &m->key_len);
                m->key = str;
            } else if (nl == 5 && !memcmp(name, "value", 5)) {
                ok = string_or_null(&j, &str, &m->value_len);
                m->value = str;
            } else if (nl == 9 && !memcmp(name, "timestamp", 9))
                ok = integer(&j, &m->timestamp_ms);
            else if (nl == 7 && !memcmp(name, "headers", 7)) {
                ok = headers(&j, hs, max_headers, &m->n_headers);
                m->headers = hs;
            } else
                ok = skip_value(&j, 1);
        } while (ok && peek(&j, ',') && expect(&j, ','));
    }
    ok = ok && expect(&j, '}');
    if (ok) {
        ws(&j);
        if (j.p != j.end)
            ok = false, j.err = "text after the object";
    }
    *err = ok ? NULL : j.err ? j.err : "not a JSON object";
    return ok;
}
