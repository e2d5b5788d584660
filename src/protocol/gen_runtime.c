/* Interpreter for the generated codec tables: see gen_runtime.h. */
#include "protocol/gen_runtime.h"

#include <string.h>

/* ---- member access ------------------------------------------------------ */

static void *member(void *s, uint32_t off) { return (char *)s + off; }
static const void *cmember(const void *s, uint32_t off) { return (const char *)s + off; }

static bool in_range(int16_t v, int16_t lo, int16_t hi) { return lo >= 0 && v >= lo && v <= hi; }

static bool has_present_flag(const kafka_gen_field *f)
{
    return f->type == KAFKA_GT_STRUCT && !(f->flags & KAFKA_GF_ARRAY) && f->n_min >= 0;
}

static bool is_tagged(const kafka_gen_field *f, int16_t v) { return in_range(v, f->t_min, f->t_max); }

/* In-memory size of one value (one array element). */
static size_t value_size(const kafka_gen_field *f)
{
    switch (f->type) {
    case KAFKA_GT_BOOL: return sizeof(bool);
    case KAFKA_GT_INT8: return 1;
    case KAFKA_GT_INT16:
    case KAFKA_GT_UINT16: return 2;
    case KAFKA_GT_INT32:
    case KAFKA_GT_UINT32: return 4;
    case KAFKA_GT_INT64: return 8;
    case KAFKA_GT_FLOAT64: return sizeof(double);
    case KAFKA_GT_STRING: return sizeof(kafka_str);
    case KAFKA_GT_BYTES:
    case KAFKA_GT_RECORDS: return sizeof(kafka_bytes);
    case KAFKA_GT_UUID: return sizeof(kafka_uuid);
    default: return f->sub->size;
    }
}

static int64_t read_int(const void *p, uint8_t type)
{
    switch (type) {
    case KAFKA_GT_BOOL: return *(const bool *)p;
    case KAFKA_GT_INT8: return *(const int8_t *)p;
    case KAFKA_GT_INT16: return *(const int16_t *)p;
    case KAFKA_GT_UINT16: return *(const uint16_t *)p;
    case KAFKA_GT_INT32: return *(const int32_t *)p;
    case KAFKA_GT_UINT32: return *(const uint32_t *)p;
    default: return *(const int64_t *)p;
    }
}

static void write_int(void *p, uint8_t type, int64_t v)
{
    switch (type) {
    case KAFKA_GT_BOOL: *(bool *)p = v != 0; break;
    case KAFKA_GT_INT8: *(int8_t *)p = (int8_t)v; break;
    case KAFKA_GT_INT16: *(int16_t *)p = (int16_t)v; break;
    case KAFKA_GT_UINT16: *(uint16_t *)p = (uint16_t)v; break;
    case KAFKA_GT_INT32: *(int32_t *)p = (int32_t)v; break;
    case KAFKA_GT_UINT32: *(uint32_t *)p = (uint32_t)v; break;
    default: *(int64_t *)p = v; break;
    }
}

static bool is_int_type(uint8_t t) { return t <= KAFKA_GT_INT64; }

/* ---- defaults ----------------------------------------------------------- */

static void init_struct(const kafka_gen_struct *d, void *s);

static void init_field(const kafka_gen_field *f, void *s)
{
    void *p = member(s, f->offset);
    if (f->flags & KAFKA_GF_ARRAY) {
        *(void **)p = NULL;
        *(int32_t *)member(s, f->aux) = (f->flags & KAFKA_GF_NULL_DEFAULT) ? -1 : 0;
        return;
    }
    if (is_int_type(f->type)) {
        write_int(p, f->type, f->def_int);
        return;
    }
    switch (f->type) {
    case KAFKA_GT_FLOAT64: *(double *)p = f->def_f64; break;
    case KAFKA_GT_STRING: *(kafka_str *)p = kafka_str_c(f->def_str); break;
    case KAFKA_GT_BYTES: *(kafka_bytes *)p = (kafka_bytes){NULL, 0}; break;
    case KAFKA_GT_RECORDS: *(kafka_bytes *)p = KAFKA_BYTES_NULL; break;
    case KAFKA_GT_UUID: memset(p, 0, sizeof(kafka_uuid)); break;
    case KAFKA_GT_STRUCT:
        if (has_present_flag(f))
            *(bool *)member(s, f->aux) = !(f->flags & KAFKA_GF_NULL_DEFAULT);
        init_struct(f->sub, p);
        break;
    default: break;
    }
}

static void init_struct(const kafka_gen_struct *d, void *s)
{
    memset(s, 0, d->size);
    for (uint16_t i = 0; i < d->nfields; i++)
        init_field(&d->fields[i], s);
}

void kafka_gen_init(const kafka_gen_struct *d, void *s) { init_struct(d, s); }

static bool struct_is_default(const kafka_gen_struct *d, const void *s);

/* Whether a field holds its schema default (Kafka writes a tagged field,
 * or accepts a version lacking the field, only in that case). */
static bool field_is_default(const kafka_gen_field *f, const void *s)
{
    const void *p = cmember(s, f->offset);
    if (f->flags & KAFKA_GF_ARRAY)
        return *(const int32_t *)cmember(s, f->aux) == ((f->flags & KAFKA_GF_NULL_DEFAULT) ? -1 : 0);
    if (is_int_type(f->type))
        return read_int(p, f->type) == f->def_int;
    switch (f->type) {
    case KAFKA_GT_FLOAT64: return *(const double *)p == f->def_f64;
    case KAFKA_GT_STRING: return kafka_str_eq(*(const kafka_str *)p, kafka_str_c(f->def_str));
    case KAFKA_GT_BYTES: return ((const kafka_bytes *)p)->len == 0;
    case KAFKA_GT_RECORDS: return ((const kafka_bytes *)p)->len < 0;
    case KAFKA_GT_UUID: {
        static const kafka_uuid zero;
        return memcmp(p, &zero, sizeof zero) == 0;
    }
    default:
        if (has_present_flag(f)) {
            bool present = *(const bool *)cmember(s, f->aux);
            if (!present || (f->flags & KAFKA_GF_NULL_DEFAULT))
                return !present;
        }
        return struct_is_default(f->sub, p);
    }
}

static bool struct_is_default(const kafka_gen_struct *d, const void *s)
{
    for (uint16_t i = 0; i < d->nfields; i++)
        if (!field_is_default(&d->fields[i], s))
            return false;
    return true;
}

/* ---- encoding ----------------------------------------------------------- */

/* One traversal serves both encode (w set) and size (w NULL: count only),
 * so kafka_gen_size is exact by construction. */
typedef struct gen_out {
    kafka_wbuf *w;
    size_t n;
    kafka_err err;
    /* kafka_gen_encode_refs only: RECORDS values listed, not copied */
    kafka_gen_ref *refs;
    size_t refs_cap, n_refs;
} gen_out;

static void out_raw(gen_out *o, const void *p, size_t n)
{
    if (o->w)
        kafka_put_raw(o->w, p, n);
    else
        o->n += n;
}

static void out_be(gen_out *o, uint64_t v, unsigned width)
{
    uint8_t b[8];
    for (unsigned i = 0; i < width; i++)
        b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
    out_raw(o, b, width);
}

static void out_uvarint(gen_out *o, uint64_t v)
{
    uint8_t b[10];
    out_raw(o, b, kafka_uvarint_encode(b, v));
}

/* Length prefix of a string/bytes/array: len < 0 is null. */
static void out_len(gen_out *o, int64_t len, bool flex, unsigned width)
{
    if (flex)
        out_uvarint(o, len < 0 ? 0 : (uint64_t)len + 1);
    else
        out_be(o, (uint64_t)len, width);
}

static void out_fail(gen_out *o) { o->err = KAFKA_ERR_INVALID_ARG; }

static void put_struct(gen_out *o, const kafka_gen_struct *d, const void *s, int16_t v, bool flex);

static void put_value(gen_out *o, const kafka_gen_field *f, const void *p, int16_t v, bool flex, bool nullable)
{
    switch (f->type) {
    case KAFKA_GT_BOOL: out_be(o, *(const bool *)p ? 1 : 0, 1); return;
    case KAFKA_GT_INT8: out_be(o, (uint64_t)(int64_t)*(const int8_t *)p, 1); return;
    case KAFKA_GT_INT16: out_be(o, (uint64_t)(int64_t)*(const int16_t *)p, 2); return;
    case KAFKA_GT_UINT16: out_be(o, *(const uint16_t *)p, 2); return;
    case KAFKA_GT_INT32: out_be(o, (uint64_t)(int64_t)*(const int32_t *)p, 4); return;
    case KAFKA_GT_UINT32: out_be(o, *(const uint32_t *)p, 4); return;
    case KAFKA_GT_INT64: out_be(o, (uint64_t)*(const int64_t *)p, 8); return;
    case KAFKA_GT_FLOAT64: {
        uint64_t u;
        memcpy(&u, p, sizeof u);
        out_be(o, u, 8);
        return;
    }
    case KAFKA_GT_UUID: out_raw(o, p, 16); return;
    case KAFKA_GT_STRUCT: put_struct(o, f->sub, p, v, flex); return;
    default: break;
    }
    /* STRING, BYTES, RECORDS share one layout: pointer + int32 length. */
    const kafka_bytes *b = (const kafka_bytes *)p;
    bool is_str = f->type == KAFKA_GT_STRING;
    if ((b->len < 0 && !nullable) || (b->len > 0 && !b->ptr) || (is_str && !flex && b->len > INT16_MAX)) {
        out_fail(o);
        return;
    }
    out_len(o, b->len, flex, is_str ? 2 : 4);
    if (b->len <= 0)
        return;
    if (f->type == KAFKA_GT_RECORDS && o->w && o->n_refs < o->refs_cap) {
        o->refs[o->n_refs++] = (kafka_gen_ref){o->w->len, (const uint8_t *)b->ptr, (size_t)b->len};
        return;
    }
    out_raw(o, b->ptr, (size_t)b->len);
}

static void put_field(gen_out *o, const kafka_gen_field *f, const void *s, int16_t v, bool flex)
{
    bool nullable = in_range(v, f->n_min, f->n_max);
    const void *p = cmember(s, f->offset);
    if (f->flags & KAFKA_GF_ARRAY) {
        const char *elems = *(const char *const *)p;
        int32_t n = *(const int32_t *)cmember(s, f->aux);
        if ((n < 0 && !nullable) || (n > 0 && !elems)) {
            out_fail(o);
            return;
        }
        out_len(o, n, flex, 4);
        size_t esz = value_size(f);
        for (int32_t i = 0; i < n && !o->err; i++)
            put_value(o, f, elems + (size_t)i * esz, v, flex, false);
        return;
    }
    if (has_present_flag(f)) {
        bool present = *(const bool *)cmember(s, f->aux);
        if (!present && !nullable) {
            out_fail(o);
            return;
        }
        if (nullable)
            out_be(o, present ? 1 : (uint64_t)-1, 1);
        if (!present)
            return;
    }
    put_value(o, f, p, v, flex, nullable);
}

static size_t field_wire_size(const kafka_gen_field *f, const void *s, int16_t v, bool flex, gen_out *o)
{
    gen_out c = {NULL, 0, 0, NULL, 0, 0};
    put_field(&c, f, s, v, flex);
    if (c.err)
        o->err = c.err;
    return c.n;
}

static void put_tagged(gen_out *o, const kafka_gen_struct *d, const void *s, int16_t v)
{
    uint32_t count = 0;
    for (uint16_t i = 0; i < d->nfields; i++)
        if (is_tagged(&d->fields[i], v) && !field_is_default(&d->fields[i], s))
            count++;
    out_uvarint(o, count);
    /* The generator orders tagged fields by ascending tag. */
    for (uint16_t i = 0; i < d->nfields && !o->err; i++) {
        const kafka_gen_field *f = &d->fields[i];
        if (!is_tagged(f, v) || field_is_default(f, s))
            continue;
        out_uvarint(o, (uint32_t)f->tag);
        out_uvarint(o, field_wire_size(f, s, v, true, o));
        put_field(o, f, s, v, true);
    }
}

static void put_struct(gen_out *o, const kafka_gen_struct *d, const void *s, int16_t v, bool flex)
{
    for (uint16_t i = 0; i < d->nfields && !o->err; i++) {
        const kafka_gen_field *f = &d->fields[i];
        if (!in_range(v, f->v_min, f->v_max)) {
            if (!(f->flags & KAFKA_GF_IGNORABLE) && !field_is_default(f, s))
                out_fail(o);
            continue;
        }
        if (!is_tagged(f, v))
            put_field(o, f, s, v, flex);
    }
    if (flex && !o->err)
        put_tagged(o, d, s, v);
}

static bool is_flexible(const kafka_gen_message *m, int16_t v) { return m->flexible_min >= 0 && v >= m->flexible_min; }

kafka_err kafka_gen_encode(kafka_wbuf *w, const kafka_gen_message *m, int16_t version, const void *s)
{
    if (version < m->min_version || version > m->max_version)
        return KAFKA_ERR_INVALID_ARG;
    gen_out o = {w, 0, 0, NULL, 0, 0};
    put_struct(&o, m->root, s, version, is_flexible(m, version));
    if (o.err)
        return o.err;
    return w->oom ? KAFKA_ERR_NOMEM : 0;
}

kafka_err kafka_gen_encode_refs(kafka_wbuf *w, const kafka_gen_message *m, int16_t version, const void *s,
                                kafka_gen_ref *refs, size_t refs_cap, size_t *n_refs)
{
    *n_refs = 0;
    if (version < m->min_version || version > m->max_version)
        return KAFKA_ERR_INVALID_ARG;
    gen_out o = {w, 0, 0, refs, refs ? refs_cap : 0, 0};
    put_struct(&o, m->root, s, version, is_flexible(m, version));
    if (o.err)
        return o.err;
    if (w->oom)
        return KAFKA_ERR_NOMEM;
    *n_refs = o.n_refs;
    return 0;
}

size_t kafka_gen_size(const kafka_gen_message *m, int16_t version, const void *s)
{
    if (version < m->min_version || version > m->max_version)
        return 0;
    gen_out o = {NULL, 0, 0, NULL, 0, 0};
    put_struct(&o, m->root, s, version, is_flexible(m, version));
    return o.err ? 0 : o.n;
}

/* ---- decoding ----------------------------------------------------------- */

static size_t struct_min_wire(const kafka_gen_struct *d, int16_t v, bool flex);

/* Fewest bytes one array element can take on the wire: lets
 * kafka_get_array_len reject counts the remaining input cannot hold. */
static size_t elem_min_wire(const kafka_gen_field *f, int16_t v, bool flex)
{
    switch (f->type) {
    case KAFKA_GT_BOOL:
    case KAFKA_GT_INT8: return 1;
    case KAFKA_GT_INT16:
    case KAFKA_GT_UINT16: return 2;
    case KAFKA_GT_INT32:
    case KAFKA_GT_UINT32: return 4;
    case KAFKA_GT_INT64:
    case KAFKA_GT_FLOAT64: return 8;
    case KAFKA_GT_UUID: return 16;
    case KAFKA_GT_STRING: return flex ? 1 : 2;
    case KAFKA_GT_BYTES:
    case KAFKA_GT_RECORDS: return flex ? 1 : 4;
    default: return struct_min_wire(f->sub, v, flex);
    }
}

static size_t struct_min_wire(const kafka_gen_struct *d, int16_t v, bool flex)
{
    size_t n = flex ? 1 : 0; /* tagged-field count */
    for (uint16_t i = 0; i < d->nfields; i++) {
        const kafka_gen_field *f = &d->fields[i];
        if (!in_range(v, f->v_min, f->v_max) || is_tagged(f, v))
            continue;
        if (f->flags & KAFKA_GF_ARRAY)
            n += flex ? 1 : 4;
        else if (has_present_flag(f) && in_range(v, f->n_min, f->n_max))
            n += 1;
        else
            n += elem_min_wire(f, v, flex);
    }
    return n;
}

static void get_struct(kafka_rbuf *r, kafka_arena *a, const kafka_gen_struct *d, void *s, int16_t v, bool flex);

static void get_value(kafka_rbuf *r, kafka_arena *a, const kafka_gen_field *f, void *p, int16_t v, bool flex,
                      bool nullable)
{
    const char *name = f->name;
    switch (f->type) {
    case KAFKA_GT_BOOL: *(bool *)p = kafka_get_bool(r, name); break;
    case KAFKA_GT_INT8: *(int8_t *)p = kafka_get_i8(r, name); break;
    case KAFKA_GT_INT16: *(int16_t *)p = kafka_get_i16(r, name); break;
    case KAFKA_GT_UINT16: *(uint16_t *)p = kafka_get_u16(r, name); break;
    case KAFKA_GT_INT32: *(int32_t *)p = kafka_get_i32(r, name); break;
    case KAFKA_GT_UINT32: *(uint32_t *)p = kafka_get_u32(r, name); break;
    case KAFKA_GT_INT64: *(int64_t *)p = kafka_get_i64(r, name); break;
    case KAFKA_GT_FLOAT64: *(double *)p = kafka_get_f64(r, name); break;
    case KAFKA_GT_UUID: *(kafka_uuid *)p = kafka_get_uuid(r, name); break;
    case KAFKA_GT_STRING:
        *(kafka_str *)p = flex ? kafka_get_compact_string(r, nullable, name) : kafka_get_string(r, nullable, name);
        break;
    case KAFKA_GT_BYTES:
    case KAFKA_GT_RECORDS:
        *(kafka_bytes *)p = flex ? kafka_get_compact_bytes(r, nullable, name) : kafka_get_bytes(r, nullable, name);
        break;
    default: get_struct(r, a, f->sub, p, v, flex); break;
    }
}

static void get_field(kafka_rbuf *r, kafka_arena *a, const kafka_gen_field *f, void *s, int16_t v, bool flex)
{
    bool nullable = in_range(v, f->n_min, f->n_max);
    void *p = member(s, f->offset);
    if (f->flags & KAFKA_GF_ARRAY) {
        int32_t n = kafka_get_array_len(r, flex, nullable, elem_min_wire(f, v, flex), f->name);
        if (r->err || n < 0) {
            *(int32_t *)member(s, f->aux) = -1;
            return;
        }
        size_t esz = value_size(f);
        char *elems = kafka_arena_calloc(a, (size_t)n, esz);
        if (!elems) {
            kafka_rbuf_fail(r, KAFKA_ERR_NOMEM, f->name);
            return;
        }
        *(void **)p = elems;
        *(int32_t *)member(s, f->aux) = n;
        for (int32_t i = 0; i < n && !r->err; i++)
            get_value(r, a, f, elems + (size_t)i * esz, v, flex, false);
        return;
    }
    if (has_present_flag(f)) {
        bool present = true;
        if (nullable)
            present = kafka_get_i8(r, f->name) >= 0;
        *(bool *)member(s, f->aux) = present;
        if (!present || r->err)
            return;
    }
    get_value(r, a, f, p, v, flex, nullable);
}

static const kafka_gen_field *find_tag(const kafka_gen_struct *d, uint32_t tag, int16_t v)
{
    for (uint16_t i = 0; i < d->nfields; i++) {
        const kafka_gen_field *f = &d->fields[i];
        if (is_tagged(f, v) && (uint32_t)f->tag == tag)
            return f;
    }
    return NULL;
}

/* Reads a tagged-field section; known tags (d != NULL) are decoded from a
 * sub-buffer bounded by their declared size, unknown ones are skipped. */
static void get_tagged(kafka_rbuf *r, kafka_arena *a, const kafka_gen_struct *d, void *s, int16_t v,
                       const char *name)
{
    uint32_t count = kafka_get_uvarint32(r, name);
    for (uint32_t i = 0; i < count && !r->err; i++) {
        uint32_t tag = kafka_get_uvarint32(r, name);
        uint32_t size = kafka_get_uvarint32(r, name);
        if (!kafka_rbuf_need(r, size, name))
            return;
        const kafka_gen_field *f = d ? find_tag(d, tag, v) : NULL;
        if (f) {
            kafka_rbuf sub;
            kafka_rbuf_init(&sub, r->p, size);
            get_field(&sub, a, f, s, v, true);
            if (sub.err) {
                kafka_rbuf_fail(r, sub.err, sub.field);
                return;
            }
        }
        r->p += size;
    }
}

static void get_struct(kafka_rbuf *r, kafka_arena *a, const kafka_gen_struct *d, void *s, int16_t v, bool flex)
{
    init_struct(d, s);
    for (uint16_t i = 0; i < d->nfields && !r->err; i++) {
        const kafka_gen_field *f = &d->fields[i];
        if (in_range(v, f->v_min, f->v_max) && !is_tagged(f, v))
            get_field(r, a, f, s, v, flex);
    }
    if (flex && !r->err)
        get_tagged(r, a, d, s, v, d->tagged_name);
}

kafka_err kafka_gen_decode(kafka_rbuf *r, kafka_arena *arena, const kafka_gen_message *m, int16_t version, void *s)
{
    init_struct(m->root, s);
    if (version < m->min_version || version > m->max_version) {
        kafka_rbuf_fail(r, KAFKA_ERR_INVALID_ARG, m->name);
        return r->err;
    }
    get_struct(r, arena, m->root, s, version, is_flexible(m, version));
    return r->err;
}

void kafka_gen_skip_tagged(kafka_rbuf *r, const char *field) { get_tagged(r, NULL, NULL, NULL, 0, field); }
