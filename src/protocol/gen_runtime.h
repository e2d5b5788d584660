/*
 * Runtime for the generated protocol codecs (src/protocol/gen/).
 *
 * tools/kafka_codegen.py turns every Kafka message schema into a C struct
 * plus a constant descriptor table (kafka_gen_struct / kafka_gen_field) that
 * says, field by field, where the member lives, its wire type, in which
 * versions it exists, is nullable or tagged, and its schema default. The
 * functions here interpret those tables, so the encode/decode/size logic
 * exists once instead of once per message and version: the generated code
 * is data plus one-line wrappers (kafka_<msg>_encode and friends).
 *
 * Rules implemented (Kafka's, from clients/.../common/message/README.md and
 * the protocol guide):
 *  - flexible versions use compact strings/bytes/arrays (uvarint length+1,
 *    0 = null) and end every struct with a tagged-field section;
 *  - known tagged fields are written, in ascending tag order, only when they
 *    differ from their default; unknown tags are skipped on decode;
 *  - a nullable struct is preceded by an int8: -1 = null, 1 = present;
 *  - encoding a version that lacks a field whose value is not the default is
 *    KAFKA_ERR_INVALID_ARG unless the schema marks the field "ignorable", in
 *    which case it is silently dropped; a null in a version where the field
 *    is not nullable, a string longer than 32767 bytes in a non-flexible
 *    version, and a version outside validVersions are KAFKA_ERR_INVALID_ARG;
 *  - decoders never read past the buffer, check every length and count
 *    against the bytes that remain before allocating, and record the
 *    failing field in r->field ("ProduceResponse.Responses.Name").
 */
#ifndef KAFKA_PROTOCOL_GEN_RUNTIME_H
#define KAFKA_PROTOCOL_GEN_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "kafka/error.h"
#include "protocol/wire.h"

/* Highest version number: "N+" in a schema means [N, KAFKA_GEN_VMAX]. */
#define KAFKA_GEN_VMAX INT16_MAX

typedef enum kafka_gen_type {
    KAFKA_GT_BOOL,
    KAFKA_GT_INT8,
    KAFKA_GT_INT16,
    KAFKA_GT_UINT16,
    KAFKA_GT_INT32,
    KAFKA_GT_UINT32,
    KAFKA_GT_INT64,
    KAFKA_GT_FLOAT64,
    KAFKA_GT_STRING,  /* kafka_str */
    KAFKA_GT_BYTES,   /* kafka_bytes */
    KAFKA_GT_RECORDS, /* kafka_bytes holding raw record batches */
    KAFKA_GT_UUID,    /* kafka_uuid */
    KAFKA_GT_STRUCT   /* embedded struct described by `sub` */
} kafka_gen_type;

/* kafka_gen_field.flags */
#define KAFKA_GF_ARRAY 0x01        /* T *member; int32_t member_count (-1 = null) */
#define KAFKA_GF_IGNORABLE 0x02    /* may be dropped when a version lacks it */
#define KAFKA_GF_NULL_DEFAULT 0x04 /* default is null (strings, arrays, structs) */

typedef struct kafka_gen_struct kafka_gen_struct;

typedef struct kafka_gen_field {
    const char *name;   /* full schema path, used as r->field on decode errors */
    uint32_t offset;    /* offset of the value, or of the array pointer */
    uint32_t aux;       /* array: offset of the _count member; nullable
                           struct: offset of the bool _present member */
    uint8_t type;       /* kafka_gen_type (of the element, for arrays) */
    uint8_t flags;      /* KAFKA_GF_* */
    int16_t v_min, v_max; /* versions the field exists in */
    int16_t n_min, n_max; /* versions it may be null in; n_min = -1: never */
    int16_t t_min, t_max; /* versions it is a tagged field in; -1: never */
    int32_t tag;
    int64_t def_int;      /* default of bool and integer fields */
    double def_f64;       /* default of float64 fields */
    const char *def_str;  /* default of string fields (NULL with NULL_DEFAULT) */
    const kafka_gen_struct *sub; /* element struct for STRUCT */
} kafka_gen_field;

struct kafka_gen_struct {
    const char *name;        /* "ProduceRequest.TopicData" */
    const char *tagged_name; /* "ProduceRequest.TopicData._tagged_fields" */
    uint32_t size;           /* sizeof the C struct */
    uint16_t nfields;
    const kafka_gen_field *fields; /* positional fields in schema order,
                                      then tagged fields by ascending tag */
};

/* A top-level request or response. */
typedef struct kafka_gen_message {
    const char *name;  /* "ProduceRequest" */
    int16_t api_key;
    int16_t min_version, max_version; /* validVersions */
    int16_t flexible_min;             /* first flexible version, -1 if none */
    const kafka_gen_struct *root;
} kafka_gen_message;

/* Sets every field of `s` (a struct described by `d`) to its schema default.
 * Arrays become empty (or null), strings point to static literals. */
void kafka_gen_init(const kafka_gen_struct *d, void *s);

/* Appends the body of message `m` at `version` to w. Returns 0,
 * KAFKA_ERR_INVALID_ARG (see the rules above) or KAFKA_ERR_NOMEM. On error
 * w may hold a partial encoding. */
kafka_err kafka_gen_encode(kafka_wbuf *w, const kafka_gen_message *m, int16_t version, const void *s);

/* A RECORDS value that kafka_gen_encode_refs did not copy: its len bytes
 * at ptr belong at offset `at` of the output buffer's data (right after
 * their length prefix, which was written). */
typedef struct kafka_gen_ref {
    size_t at;
    const uint8_t *ptr;
    size_t len;
} kafka_gen_ref;

/* kafka_gen_encode, except that the bytes of non-empty RECORDS fields (the
 * record batches that make up most of a Produce request) are not copied
 * into w: up to refs_cap of them are listed in refs[0..*n_refs), in wire
 * order (later ones are copied as usual). The wire form is then w's bytes
 * with refs[i]'s bytes inserted at refs[i].at, for a vectored write that
 * does not copy the batches; the ref pointers are the caller's, so they
 * must stay valid until that write. Same errors as kafka_gen_encode
 * (*n_refs = 0 on error). */
kafka_err kafka_gen_encode_refs(kafka_wbuf *w, const kafka_gen_message *m, int16_t version, const void *s,
                                kafka_gen_ref *refs, size_t refs_cap, size_t *n_refs);

/* Exact number of bytes kafka_gen_encode writes (0 if it would fail). */
size_t kafka_gen_size(const kafka_gen_message *m, int16_t version, const void *s);

/* Decodes a body of `m` at `version` from r into s. Arrays come from `arena`;
 * strings, bytes and records are views into r's buffer. On failure returns
 * r->err (KAFKA_ERR_TRUNCATED, KAFKA_ERR_CORRUPT, KAFKA_ERR_NOMEM, or
 * KAFKA_ERR_INVALID_ARG for a bad version) with r->field naming the field. */
kafka_err kafka_gen_decode(kafka_rbuf *r, kafka_arena *arena, const kafka_gen_message *m, int16_t version, void *s);

/* Reads and discards a tagged-field section (uvarint count, then tag, size
 * and data per field). Used for header tagged fields. */
void kafka_gen_skip_tagged(kafka_rbuf *r, const char *field);

#endif /* KAFKA_PROTOCOL_GEN_RUNTIME_H */
