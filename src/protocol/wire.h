/*
 * Kafka wire primitives: sans-I/O encoders into a growable buffer and
 * bounds-checked decoders over a byte range.
 *
 * Encoding: kafka_wbuf grows through kafka_realloc. A failed allocation sets
 * `oom` and makes every later put a no-op, so an encoder can run to the end
 * and check once.
 *
 * Decoding: kafka_rbuf never reads past `end`. The first failure records an
 * error code and the name of the field that failed; it is sticky: every
 * later get returns a zero value and leaves the first error in place, so a
 * decoder checks `r->err` once at the end. Strings and bytes are returned as
 * views into the input buffer (zero-copy): they live as long as that buffer.
 */
#ifndef KAFKA_PROTOCOL_WIRE_H
#define KAFKA_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "kafka/error.h"

/* ---- value types shared by all codecs ---------------------------------- */

/* A string view; len < 0 means null. Not NUL-terminated. */
typedef struct kafka_str {
    const char *ptr;
    int32_t len;
} kafka_str;

/* A bytes view; len < 0 means null. */
typedef struct kafka_bytes {
    const uint8_t *ptr;
    int32_t len;
} kafka_bytes;

typedef struct kafka_uuid {
    uint8_t b[16];
} kafka_uuid;

#define KAFKA_STR_NULL ((kafka_str){NULL, -1})
#define KAFKA_BYTES_NULL ((kafka_bytes){NULL, -1})

static inline kafka_str kafka_str_c(const char *s)
{
    return s ? (kafka_str){s, (int32_t)strlen(s)} : KAFKA_STR_NULL;
}

static inline bool kafka_str_eq(kafka_str a, kafka_str b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static inline bool kafka_str_eq_c(kafka_str a, const char *s)
{
    return kafka_str_eq(a, kafka_str_c(s));
}

/* ---- encoder ------------------------------------------------------------ */

typedef struct kafka_wbuf {
    uint8_t *data;
    size_t len;
    size_t cap;
    bool oom;
} kafka_wbuf;

static inline void kafka_wbuf_init(kafka_wbuf *w)
{
    w->data = NULL;
    w->len = w->cap = 0;
    w->oom = false;
}

static inline void kafka_wbuf_free(kafka_wbuf *w)
{
    kafka_free(w->data);
    kafka_wbuf_init(w);
}

/* Ensures room for n more bytes; false (and oom set) on failure. */
static inline bool kafka_wbuf_reserve(kafka_wbuf *w, size_t n)
{
    if (w->oom)
        return false;
    if (w->cap - w->len >= n)
        return true;
    size_t cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *d = kafka_realloc(w->data, cap);
    if (!d) {
        w->oom = true;
        return false;
    }
    w->data = d;
    w->cap = cap;
    return true;
}

static inline void kafka_put_raw(kafka_wbuf *w, const void *p, size_t n)
{
    if (n && kafka_wbuf_reserve(w, n)) {
        memcpy(w->data + w->len, p, n);
        w->len += n;
    }
}

static inline void kafka_put_u8(kafka_wbuf *w, uint8_t v)
{
    if (kafka_wbuf_reserve(w, 1))
        w->data[w->len++] = v;
}

static inline void kafka_put_i8(kafka_wbuf *w, int8_t v) { kafka_put_u8(w, (uint8_t)v); }
static inline void kafka_put_bool(kafka_wbuf *w, bool v) { kafka_put_u8(w, v ? 1 : 0); }

static inline void kafka_put_u16(kafka_wbuf *w, uint16_t v)
{
    if (kafka_wbuf_reserve(w, 2)) {
        w->data[w->len++] = (uint8_t)(v >> 8);
        w->data[w->len++] = (uint8_t)v;
    }
}
static inline void kafka_put_i16(kafka_wbuf *w, int16_t v) { kafka_put_u16(w, (uint16_t)v); }

static inline void kafka_write_u32_at(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void kafka_put_u32(kafka_wbuf *w, uint32_t v)
{
    if (kafka_wbuf_reserve(w, 4)) {
        kafka_write_u32_at(w->data + w->len, v);
        w->len += 4;
    }
}
static inline void kafka_put_i32(kafka_wbuf *w, int32_t v) { kafka_put_u32(w, (uint32_t)v); }

static inline void kafka_put_u64(kafka_wbuf *w, uint64_t v)
{
    kafka_put_u32(w, (uint32_t)(v >> 32));
    kafka_put_u32(w, (uint32_t)v);
}
static inline void kafka_put_i64(kafka_wbuf *w, int64_t v) { kafka_put_u64(w, (uint64_t)v); }

static inline void kafka_put_f64(kafka_wbuf *w, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    kafka_put_u64(w, u);
}

/* Writes an unsigned varint into p (at least 10 bytes); returns its size. */
static inline size_t kafka_uvarint_encode(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t kafka_uvarint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint64_t kafka_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t kafka_unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static inline size_t kafka_varint_size(int64_t v) { return kafka_uvarint_size(kafka_zigzag64(v)); }

static inline void kafka_put_uvarint(kafka_wbuf *w, uint64_t v)
{
    if (kafka_wbuf_reserve(w, 10))
        w->len += kafka_uvarint_encode(w->data + w->len, v);
}

/* Signed (zigzag) varint / varlong, as used in record batches. */
static inline void kafka_put_varint(kafka_wbuf *w, int64_t v) { kafka_put_uvarint(w, kafka_zigzag64(v)); }

static inline void kafka_put_uuid(kafka_wbuf *w, const kafka_uuid *u) { kafka_put_raw(w, u->b, 16); }

/* STRING / NULLABLE_STRING: int16 length (-1 = null) then bytes. */
static inline void kafka_put_string(kafka_wbuf *w, kafka_str s)
{
    if (s.len < 0) {
        kafka_put_i16(w, -1);
        return;
    }
    kafka_put_i16(w, (int16_t)s.len);
    kafka_put_raw(w, s.ptr, (size_t)s.len);
}

/* COMPACT_(NULLABLE_)STRING: uvarint length+1 (0 = null) then bytes. */
static inline void kafka_put_compact_string(kafka_wbuf *w, kafka_str s)
{
    if (s.len < 0) {
        kafka_put_uvarint(w, 0);
        return;
    }
    kafka_put_uvarint(w, (uint64_t)s.len + 1);
    kafka_put_raw(w, s.ptr, (size_t)s.len);
}

static inline void kafka_put_bytes(kafka_wbuf *w, kafka_bytes b)
{
    kafka_put_i32(w, b.len < 0 ? -1 : b.len);
    if (b.len > 0)
        kafka_put_raw(w, b.ptr, (size_t)b.len);
}

static inline void kafka_put_compact_bytes(kafka_wbuf *w, kafka_bytes b)
{
    kafka_put_uvarint(w, b.len < 0 ? 0 : (uint64_t)b.len + 1);
    if (b.len > 0)
        kafka_put_raw(w, b.ptr, (size_t)b.len);
}

/* Array length prefix: int32 (-1 = null) or compact uvarint (0 = null). */
static inline void kafka_put_array_len(kafka_wbuf *w, int32_t n, bool compact)
{
    if (compact)
        kafka_put_uvarint(w, n < 0 ? 0 : (uint64_t)n + 1);
    else
        kafka_put_i32(w, n);
}

/* ---- decoder ------------------------------------------------------------ */

typedef struct kafka_rbuf {
    const uint8_t *p;
    const uint8_t *end;
    kafka_err err;     /* first failure, 0 if none */
    const char *field; /* static name of the field that failed */
} kafka_rbuf;

static inline void kafka_rbuf_init(kafka_rbuf *r, const void *data, size_t len)
{
    /* (NULL, 0) is a valid empty buffer: avoid NULL + 0 arithmetic */
    static const uint8_t empty[1];
    r->p = data ? (const uint8_t *)data : empty;
    r->end = r->p + (data ? len : 0);
    r->err = 0;
    r->field = NULL;
}

static inline size_t kafka_rbuf_remaining(const kafka_rbuf *r) { return (size_t)(r->end - r->p); }

/* Records the first failure; always returns false. */
static inline bool kafka_rbuf_fail(kafka_rbuf *r, kafka_err err, const char *field)
{
    if (!r->err) {
        r->err = err;
        r->field = field;
        r->p = r->end; /* nothing more is read after a failure */
    }
    return false;
}

static inline bool kafka_rbuf_need(kafka_rbuf *r, size_t n, const char *field)
{
    if (r->err)
        return false;
    if (kafka_rbuf_remaining(r) < n)
        return kafka_rbuf_fail(r, KAFKA_ERR_TRUNCATED, field);
    return true;
}

static inline const uint8_t *kafka_get_raw(kafka_rbuf *r, size_t n, const char *field)
{
    if (!kafka_rbuf_need(r, n, field))
        return NULL;
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static inline void kafka_skip(kafka_rbuf *r, size_t n, const char *field) { (void)kafka_get_raw(r, n, field); }

static inline uint8_t kafka_get_u8(kafka_rbuf *r, const char *field)
{
    const uint8_t *p = kafka_get_raw(r, 1, field);
    return p ? p[0] : 0;
}
static inline int8_t kafka_get_i8(kafka_rbuf *r, const char *field) { return (int8_t)kafka_get_u8(r, field); }

static inline bool kafka_get_bool(kafka_rbuf *r, const char *field) { return kafka_get_u8(r, field) != 0; }

static inline uint16_t kafka_get_u16(kafka_rbuf *r, const char *field)
{
    const uint8_t *p = kafka_get_raw(r, 2, field);
    return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}
static inline int16_t kafka_get_i16(kafka_rbuf *r, const char *field) { return (int16_t)kafka_get_u16(r, field); }

static inline uint32_t kafka_read_u32_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline uint32_t kafka_get_u32(kafka_rbuf *r, const char *field)
{
    const uint8_t *p = kafka_get_raw(r, 4, field);
    return p ? kafka_read_u32_at(p) : 0;
}
static inline int32_t kafka_get_i32(kafka_rbuf *r, const char *field) { return (int32_t)kafka_get_u32(r, field); }

static inline uint64_t kafka_get_u64(kafka_rbuf *r, const char *field)
{
    const uint8_t *p = kafka_get_raw(r, 8, field);
    return p ? ((uint64_t)kafka_read_u32_at(p) << 32) | kafka_read_u32_at(p + 4) : 0;
}
static inline int64_t kafka_get_i64(kafka_rbuf *r, const char *field) { return (int64_t)kafka_get_u64(r, field); }

static inline double kafka_get_f64(kafka_rbuf *r, const char *field)
{
    uint64_t u = kafka_get_u64(r, field);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Unsigned varint of at most 10 bytes (64 bits); overlong input is CORRUPT. */
static inline uint64_t kafka_get_uvarint(kafka_rbuf *r, const char *field)
{
    /* One byte: most lengths, counts and tags. (After a failure p == end,
     * so this never reads past an error.) */
    if (r->p < r->end && *r->p < 0x80)
        return *r->p++;
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (!kafka_rbuf_need(r, 1, field))
            return 0;
        uint8_t b = *r->p++;
        if (shift == 63 && b > 1) {
            kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
    return 0;
}

/* An unsigned varint that must fit in 32 bits (lengths, counts, tags). */
static inline uint32_t kafka_get_uvarint32(kafka_rbuf *r, const char *field)
{
    uint64_t v = kafka_get_uvarint(r, field);
    if (v > UINT32_MAX) {
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return 0;
    }
    return (uint32_t)v;
}

static inline int64_t kafka_get_varint(kafka_rbuf *r, const char *field)
{
    return kafka_unzigzag64(kafka_get_uvarint(r, field));
}

static inline kafka_uuid kafka_get_uuid(kafka_rbuf *r, const char *field)
{
    kafka_uuid u = {{0}};
    const uint8_t *p = kafka_get_raw(r, 16, field);
    if (p)
        memcpy(u.b, p, 16);
    return u;
}

/* Reads `len` bytes as a view; len < 0 gives null. */
static inline kafka_str kafka_get_str_body(kafka_rbuf *r, int64_t len, bool nullable, const char *field)
{
    if (len < 0) {
        if (len != -1 || !nullable)
            kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return KAFKA_STR_NULL;
    }
    if (len > INT32_MAX) {
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return KAFKA_STR_NULL;
    }
    const uint8_t *p = kafka_get_raw(r, (size_t)len, field);
    if (!p)
        return KAFKA_STR_NULL;
    return (kafka_str){(const char *)p, (int32_t)len};
}

static inline kafka_str kafka_get_string(kafka_rbuf *r, bool nullable, const char *field)
{
    int16_t len = kafka_get_i16(r, field);
    if (r->err)
        return KAFKA_STR_NULL;
    return kafka_get_str_body(r, len, nullable, field);
}

static inline kafka_str kafka_get_compact_string(kafka_rbuf *r, bool nullable, const char *field)
{
    uint32_t n = kafka_get_uvarint32(r, field);
    if (r->err)
        return KAFKA_STR_NULL;
    return kafka_get_str_body(r, (int64_t)n - 1, nullable, field);
}

static inline kafka_bytes kafka_str_as_bytes(kafka_str s) { return (kafka_bytes){(const uint8_t *)s.ptr, s.len}; }

static inline kafka_bytes kafka_get_bytes(kafka_rbuf *r, bool nullable, const char *field)
{
    int32_t len = kafka_get_i32(r, field);
    if (r->err)
        return KAFKA_BYTES_NULL;
    return kafka_str_as_bytes(kafka_get_str_body(r, len, nullable, field));
}

static inline kafka_bytes kafka_get_compact_bytes(kafka_rbuf *r, bool nullable, const char *field)
{
    uint32_t n = kafka_get_uvarint32(r, field);
    if (r->err)
        return KAFKA_BYTES_NULL;
    return kafka_str_as_bytes(kafka_get_str_body(r, (int64_t)n - 1, nullable, field));
}

/* Reads an array length (-1 = null). Never trusts it: a count whose
 * elements, at `min_elem_size` bytes each, cannot fit in what remains is
 * CORRUPT, so a hostile 2 GB count never reaches an allocator. */
static inline int32_t kafka_get_array_len(kafka_rbuf *r, bool compact, bool nullable, size_t min_elem_size,
                                          const char *field)
{
    int64_t n;
    if (compact)
        n = (int64_t)kafka_get_uvarint32(r, field) - 1;
    else
        n = kafka_get_i32(r, field);
    if (r->err)
        return -1;
    if (n < 0) {
        if (n != -1 || !nullable)
            kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return -1;
    }
    if (min_elem_size == 0)
        min_elem_size = 1;
    if ((uint64_t)n > kafka_rbuf_remaining(r) / min_elem_size) {
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return -1;
    }
    return (int32_t)n;
}

#endif /* KAFKA_PROTOCOL_WIRE_H */
