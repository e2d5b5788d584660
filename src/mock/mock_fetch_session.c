/* Fetch sessions in the mock: see mock_fetch_session.h. */
#include "mock/mock_fetch_session.h"

#include <string.h>

#include "common/alloc.h"

static void session_free(kmock_fetch_session *s)
{
    for (size_t i = 0; i < s->n; i++)
        kafka_free(s->parts[i].topic);
    kafka_free(s->parts);
    kafka_free(s);
}

void kmock_fs_cache_free(kmock_fs_cache *fc)
{
    for (size_t i = 0; i < fc->n; i++)
        session_free(fc->s[i]);
    kafka_free(fc->s);
    memset(fc, 0, sizeof(*fc));
}

void kmock_fs_remove(kmock_fs_cache *fc, int32_t id)
{
    for (size_t i = 0; i < fc->n; i++) {
        if (fc->s[i]->id == id) {
            session_free(fc->s[i]);
            fc->s[i] = fc->s[--fc->n];
            return;
        }
    }
}

kmock_fetch_session *kmock_fs_new(kmock_fs_cache *fc, int32_t broker_id)
{
    if (fc->n == KMOCK_FETCH_SESSIONS) {
        size_t lru = 0;
        for (size_t i = 1; i < fc->n; i++)
            if (fc->s[i]->last_used < fc->s[lru]->last_used)
                lru = i;
        kmock_fs_remove(fc, fc->s[lru]->id);
    }
    if (!kafka_array_reserve((void **)&fc->s, &fc->cap, fc->n + 1, sizeof(*fc->s), 8))
        return NULL;
    kmock_fetch_session *s = kafka_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    /* ids are positive and never 0 (0 means "no session") */
    if (fc->next_id <= 0 || fc->next_id == INT32_MAX)
        fc->next_id = 1;
    s->id = fc->next_id++;
    s->epoch = 1;
    s->broker_id = broker_id;
    s->last_used = ++fc->clock;
    fc->s[fc->n++] = s;
    return s;
}

kmock_fetch_session *kmock_fs_find(kmock_fs_cache *fc, int32_t id, int32_t broker_id)
{
    for (size_t i = 0; i < fc->n; i++) {
        if (fc->s[i]->id == id && fc->s[i]->broker_id == broker_id) {
            fc->s[i]->last_used = ++fc->clock;
            return fc->s[i];
        }
    }
    return NULL;
}

static bool uuid_zero(const kafka_uuid *u)
{
    for (int i = 0; i < 16; i++)
        if (u->b[i])
            return false;
    return true;
}

static bool same_part(const kmock_fs_part *p, kafka_str topic, const kafka_uuid *id, int32_t partition)
{
    if (p->partition != partition)
        return false;
    if (!uuid_zero(id))
        return memcmp(p->topic_id.b, id->b, 16) == 0;
    size_t len = topic.len > 0 ? (size_t)topic.len : 0;
    return strlen(p->topic) == len && memcmp(p->topic, topic.ptr, len) == 0;
}

kmock_fs_part *kmock_fs_upsert(kmock_fetch_session *s, kafka_str topic, const kafka_uuid *id, int32_t partition)
{
    for (size_t i = 0; i < s->n; i++)
        if (same_part(&s->parts[i], topic, id, partition))
            return &s->parts[i];
    if (!kafka_array_reserve((void **)&s->parts, &s->cap, s->n + 1, sizeof(*s->parts), 8))
        return NULL;
    char *name = kafka_strndup(topic.len > 0 ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0);
    if (!name)
        return NULL;
    kmock_fs_part *p = &s->parts[s->n++];
    memset(p, 0, sizeof(*p));
    p->topic = name;
    p->topic_id = *id;
    p->partition = partition;
    return p;
}

void kmock_fs_forget(kmock_fetch_session *s, kafka_str topic, const kafka_uuid *id, int32_t partition)
{
    for (size_t i = 0; i < s->n; i++) {
        if (same_part(&s->parts[i], topic, id, partition)) {
            kafka_free(s->parts[i].topic);
            memmove(&s->parts[i], &s->parts[i + 1], (s->n - i - 1) * sizeof(s->parts[0]));
            s->n--;
            return;
        }
    }
}
