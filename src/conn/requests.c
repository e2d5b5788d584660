/* Fetch and ListOffsets requests, built in one place (requests.h). */
#include "conn/requests.h"

int16_t kafka_fetch_min_version(bool read_committed)
{
    return read_committed ? KAFKA_FETCH_MIN_READ_COMMITTED : 0;
}

/* Topic entries: one per run of equal topic names. */
static size_t count_runs(const char *const *names, size_t stride, size_t n)
{
    size_t runs = 0;
    const char *prev = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *t = *(const char *const *)(const void *)((const char *)names + i * stride);
        if (i == 0 || t != prev)
            runs++;
        prev = t;
    }
    return runs;
}

static kafka_err fetch_topics(kafka_arena *a, const kafka_fetch_want *want, size_t n,
                              kafka_fetch_request_fetch_topic **out, int32_t *count)
{
    size_t nt = count_runs(&want[0].topic, sizeof *want, n);
    kafka_fetch_request_fetch_topic *ft = kafka_arena_alloc(a, (nt ? nt : 1) * sizeof *ft);
    kafka_fetch_request_fetch_partition *fp = kafka_arena_alloc(a, (n ? n : 1) * sizeof *fp);
    if (!ft || !fp)
        return KAFKA_ERR_NOMEM;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || want[i].topic != want[i - 1].topic) {
            kafka_fetch_request_fetch_topic_init(&ft[t]);
            ft[t].topic = kafka_str_c(want[i].topic);
            ft[t].partitions = &fp[i];
            ft[t].partitions_count = 0;
            t++;
        }
        kafka_fetch_request_fetch_partition_init(&fp[i]);
        fp[i].partition = want[i].partition;
        fp[i].fetch_offset = want[i].offset;
        fp[i].partition_max_bytes = want[i].max_bytes;
        ft[t - 1].partitions_count++;
    }
    *out = ft;
    *count = (int32_t)nt;
    return 0;
}

static kafka_err forgotten_topics(kafka_arena *a, const kafka_fetch_want *want, size_t n,
                                  kafka_fetch_request_forgotten_topic **out, int32_t *count)
{
    size_t nt = count_runs(&want[0].topic, sizeof *want, n);
    kafka_fetch_request_forgotten_topic *ft = kafka_arena_alloc(a, (nt ? nt : 1) * sizeof *ft);
    int32_t *ids = kafka_arena_alloc(a, (n ? n : 1) * sizeof *ids);
    if (!ft || !ids)
        return KAFKA_ERR_NOMEM;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || want[i].topic != want[i - 1].topic) {
            kafka_fetch_request_forgotten_topic_init(&ft[t]);
            ft[t].topic = kafka_str_c(want[i].topic);
            ft[t].partitions = &ids[i];
            ft[t].partitions_count = 0;
            t++;
        }
        ids[i] = want[i].partition;
        ft[t - 1].partitions_count++;
    }
    *out = ft;
    *count = (int32_t)nt;
    return 0;
}

kafka_err kafka_fetch_request_build(kafka_arena *a, const kafka_fetch_want *want, size_t n,
                                    const kafka_fetch_opts *o, kafka_fetch_request *req)
{
    kafka_fetch_request_init(req);
    req->replica_id = -1;
    req->max_wait_ms = o->max_wait_ms;
    req->min_bytes = o->min_bytes;
    req->max_bytes = o->max_bytes;
    req->isolation_level = o->read_committed ? 1 : 0;
    req->session_id = o->session_id;
    req->session_epoch = o->session_epoch;
    kafka_err err = fetch_topics(a, want, n, &req->topics, &req->topics_count);
    if (!err && o->n_forgotten)
        err = forgotten_topics(a, o->forgotten, o->n_forgotten, &req->forgotten_topics_data,
                               &req->forgotten_topics_data_count);
    return err;
}

kafka_err kafka_list_offsets_request_build(kafka_arena *a, const kafka_offset_want *want, size_t n,
                                           bool read_committed, kafka_list_offsets_request *req)
{
    kafka_list_offsets_request_init(req);
    req->replica_id = -1;
    req->isolation_level = read_committed ? 1 : 0;
    size_t nt = count_runs(&want[0].topic, sizeof *want, n);
    kafka_list_offsets_request_list_offsets_topic *lt = kafka_arena_alloc(a, (nt ? nt : 1) * sizeof *lt);
    kafka_list_offsets_request_list_offsets_partition *lp = kafka_arena_alloc(a, (n ? n : 1) * sizeof *lp);
    if (!lt || !lp)
        return KAFKA_ERR_NOMEM;
    size_t t = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || want[i].topic != want[i - 1].topic) {
            kafka_list_offsets_request_list_offsets_topic_init(&lt[t]);
            lt[t].name = kafka_str_c(want[i].topic);
            lt[t].partitions = &lp[i];
            lt[t].partitions_count = 0;
            t++;
        }
        kafka_list_offsets_request_list_offsets_partition_init(&lp[i]);
        lp[i].partition_index = want[i].partition;
        lp[i].timestamp = want[i].timestamp;
        lt[t - 1].partitions_count++;
    }
    req->topics = lt;
    req->topics_count = (int32_t)nt;
    return 0;
}
