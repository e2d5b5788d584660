/* ConsumerProtocolSubscription / ConsumerProtocolAssignment codecs. */
#include "group/consumer_protocol.h"

#include <string.h>

#include "common/alloc.h"

/* Smallest encodings, used to bound counts before allocating. */
#define MIN_STRING 2u                /* int16 length */
#define MIN_TOPIC_PARTITIONS 6u      /* string + int32 count */

/* ---- encoding ----------------------------------------------------------- */

static kafka_err put_name(kafka_wbuf *w, const char *name)
{
    if (!name)
        return KAFKA_ERR_INVALID_ARG;
    size_t n = strlen(name);
    if (n > INT16_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_string(w, (kafka_str){name, (int32_t)n});
    return 0;
}

static kafka_err put_count(kafka_wbuf *w, size_t n)
{
    if (n > INT32_MAX)
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_array_len(w, (int32_t)n, false);
    return 0;
}

static size_t count_partitions_of(const kafka_topic_partition *tp, size_t n, size_t from)
{
    size_t c = 0;
    for (size_t i = from; i < n; i++)
        if (strcmp(tp[i].topic, tp[from].topic) == 0)
            c++;
    return c;
}

/* Writes [](topic, []int32) grouping all partitions of a topic under its
 * first appearance. O(n * topics), fine for assignment sizes. */
static kafka_err put_topic_partitions(kafka_wbuf *w, const kafka_topic_partition *tp, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!tp[i].topic)
            return KAFKA_ERR_INVALID_ARG;
    bool *done = n ? kafka_calloc(n, sizeof *done) : NULL;
    if (n && !done)
        return KAFKA_ERR_NOMEM;
    size_t n_topics = 0;
    for (size_t i = 0; i < n; i++) {
        if (done[i])
            continue;
        n_topics++;
        for (size_t j = i; j < n; j++)
            if (strcmp(tp[j].topic, tp[i].topic) == 0)
                done[j] = true;
    }
    kafka_err err = put_count(w, n_topics);
    if (n)
        memset(done, 0, n * sizeof *done);
    for (size_t i = 0; i < n && !err; i++) {
        if (done[i])
            continue;
        err = put_name(w, tp[i].topic);
        if (!err)
            err = put_count(w, count_partitions_of(tp, n, i));
        for (size_t j = i; j < n && !err; j++) {
            if (!done[j] && strcmp(tp[j].topic, tp[i].topic) == 0) {
                kafka_put_i32(w, tp[j].partition);
                done[j] = true;
            }
        }
    }
    kafka_free(done);
    return err;
}

static kafka_err finish(const kafka_wbuf *w, kafka_err err)
{
    if (!err && w->oom)
        return KAFKA_ERR_NOMEM;
    return err;
}

kafka_err kafka_consumer_subscription_encode(const kafka_consumer_subscription *s, kafka_wbuf *w)
{
    if (!s || !w || s->version < 0 || s->version > KAFKA_CONSUMER_PROTOCOL_MAX_VERSION)
        return KAFKA_ERR_INVALID_ARG;
    if ((s->n_topics && !s->topics) || (s->n_owned && !s->owned))
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_i16(w, s->version);
    kafka_err err = put_count(w, s->n_topics);
    for (size_t i = 0; i < s->n_topics && !err; i++)
        err = put_name(w, s->topics[i]);
    if (err)
        return err;
    kafka_put_bytes(w, s->user_data);
    if (s->version >= 1)
        err = put_topic_partitions(w, s->owned, s->n_owned);
    if (!err && s->version >= 2)
        kafka_put_i32(w, s->generation);
    if (!err && s->version >= 3) {
        if (s->rack)
            err = put_name(w, s->rack);
        else
            kafka_put_string(w, KAFKA_STR_NULL);
    }
    return finish(w, err);
}

kafka_err kafka_consumer_assignment_encode(const kafka_consumer_assignment *a, kafka_wbuf *w)
{
    if (!a || !w || a->version < 0 || a->version > KAFKA_CONSUMER_PROTOCOL_MAX_VERSION)
        return KAFKA_ERR_INVALID_ARG;
    if (a->n_partitions && !a->partitions)
        return KAFKA_ERR_INVALID_ARG;
    kafka_put_i16(w, a->version);
    kafka_err err = put_topic_partitions(w, a->partitions, a->n_partitions);
    if (!err)
        kafka_put_bytes(w, a->user_data);
    return finish(w, err);
}

/* ---- decoding ----------------------------------------------------------- */

/* Copies a string view into the arena, NUL-terminated; NULL for null. */
static const char *dup_str(kafka_rbuf *r, kafka_arena *arena, kafka_str s, const char *field)
{
    if (r->err || s.len < 0)
        return NULL;
    if (memchr(s.ptr, '\0', (size_t)s.len)) {
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, field);
        return NULL;
    }
    char *c = kafka_arena_alloc(arena, (size_t)s.len + 1);
    if (!c) {
        kafka_rbuf_fail(r, KAFKA_ERR_NOMEM, field);
        return NULL;
    }
    if (s.len)
        memcpy(c, s.ptr, (size_t)s.len);
    return c;
}

static const char *get_name(kafka_rbuf *r, kafka_arena *arena, const char *field)
{
    kafka_str s = kafka_get_string(r, false, field);
    return dup_str(r, arena, s, field);
}

static const char *const *get_names(kafka_rbuf *r, kafka_arena *arena, size_t *n_out)
{
    *n_out = 0;
    int32_t n = kafka_get_array_len(r, false, false, MIN_STRING, "topics");
    if (r->err)
        return NULL;
    const char **names = kafka_arena_calloc(arena, (size_t)n, sizeof *names);
    if (!names) {
        kafka_rbuf_fail(r, KAFKA_ERR_NOMEM, "topics");
        return NULL;
    }
    for (int32_t i = 0; i < n && !r->err; i++)
        names[i] = get_name(r, arena, "topics");
    *n_out = (size_t)n;
    return names;
}

/* First pass over [](topic, []int32): validates the framing and counts the
 * partitions, so that the second pass allocates exactly once. */
static size_t count_topic_partitions(kafka_rbuf r, const char *field)
{
    size_t total = 0;
    int32_t n = kafka_get_array_len(&r, false, false, MIN_TOPIC_PARTITIONS, field);
    for (int32_t i = 0; i < n && !r.err; i++) {
        (void)kafka_get_string(&r, false, field);
        int32_t np = kafka_get_array_len(&r, false, false, 4, field);
        if (r.err)
            break;
        kafka_skip(&r, (size_t)np * 4, field);
        total += (size_t)np;
    }
    return r.err ? 0 : total;
}

static const kafka_topic_partition *get_topic_partitions(kafka_rbuf *r, kafka_arena *arena, size_t *n_out,
                                                         const char *field)
{
    *n_out = 0;
    size_t total = count_topic_partitions(*r, field);
    kafka_topic_partition *tp = kafka_arena_calloc(arena, total, sizeof *tp);
    if (!tp) {
        kafka_rbuf_fail(r, KAFKA_ERR_NOMEM, field);
        return NULL;
    }
    size_t k = 0;
    int32_t n = kafka_get_array_len(r, false, false, MIN_TOPIC_PARTITIONS, field);
    for (int32_t i = 0; i < n && !r->err; i++) {
        const char *topic = get_name(r, arena, field);
        int32_t np = kafka_get_array_len(r, false, false, 4, field);
        for (int32_t j = 0; j < np && !r->err && k < total; j++) {
            tp[k].topic = topic;
            tp[k++].partition = kafka_get_i32(r, field);
        }
    }
    *n_out = k;
    return tp;
}

static kafka_err get_version(kafka_rbuf *r, int16_t *version)
{
    *version = kafka_get_i16(r, "version");
    if (!r->err && *version < 0)
        kafka_rbuf_fail(r, KAFKA_ERR_CORRUPT, "version");
    return r->err;
}

kafka_err kafka_consumer_subscription_decode(const void *data, size_t len, kafka_arena *arena,
                                             kafka_consumer_subscription *out)
{
    if (!out || !arena || (!data && len))
        return KAFKA_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->generation = -1;
    out->user_data = KAFKA_BYTES_NULL;
    kafka_rbuf r;
    kafka_rbuf_init(&r, data, len);
    if (get_version(&r, &out->version))
        return r.err;
    out->topics = get_names(&r, arena, &out->n_topics);
    out->user_data = kafka_get_bytes(&r, true, "user_data");
    if (out->version >= 1)
        out->owned = get_topic_partitions(&r, arena, &out->n_owned, "owned_partitions");
    if (out->version >= 2)
        out->generation = kafka_get_i32(&r, "generation_id");
    if (out->version >= 3) {
        kafka_str rack = kafka_get_string(&r, true, "rack_id");
        out->rack = dup_str(&r, arena, rack, "rack_id");
    }
    return r.err;
}

kafka_err kafka_consumer_assignment_decode(const void *data, size_t len, kafka_arena *arena,
                                           kafka_consumer_assignment *out)
{
    if (!out || !arena || (!data && len))
        return KAFKA_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    out->user_data = KAFKA_BYTES_NULL;
    if (len == 0)
        return 0;
    kafka_rbuf r;
    kafka_rbuf_init(&r, data, len);
    if (get_version(&r, &out->version))
        return r.err;
    out->partitions = get_topic_partitions(&r, arena, &out->n_partitions, "assigned_partitions");
    out->user_data = kafka_get_bytes(&r, true, "user_data");
    return r.err;
}

/* ---- cooperative-sticky generation -------------------------------------- */

int32_t kafka_consumer_subscription_generation(const kafka_consumer_subscription *s)
{
    if (s->version >= 2)
        return s->generation;
    if (s->user_data.len == 4)
        return (int32_t)kafka_read_u32_at(s->user_data.ptr);
    return -1;
}

void kafka_cooperative_sticky_userdata(int32_t generation, uint8_t out[4])
{
    kafka_write_u32_at(out, (uint32_t)generation);
}
