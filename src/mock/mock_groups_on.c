/* The mock's serving core wired to its group module (mock_group.h): see
 * mock_groups_dispatch.h. One cluster-wide coordinator serves the group
 * APIs (and TxnOffsetCommit) on every broker. */
#include "mock/mock_groups_dispatch.h"

#include "mock/mock_cluster.h"
#include "mock/mock_group.h"

static int partition_exists(void *ctx, const char *topic, int32_t partition)
{
    const kmock_cluster *c = ctx;

    return kmock_partition_get(c, kafka_str_c(topic), partition) ? 0 : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
}

static void visit_topics(void *ctx, kmock_topic_visit_fn visit, void *arg)
{
    const kmock_cluster *c = ctx;

    for (size_t i = 0; i < c->ntopics; i++)
        visit(arg, c->topics[i]->name, c->topics[i]->id.b, c->topics[i]->npartitions);
}

kafka_err kmock_groups_attach(kmock_cluster *c)
{
    kmock_groups_config cfg = {.initial_rebalance_delay_ms = c->initial_rebalance_delay_ms,
                               .partition_exists = partition_exists,
                               .ctx = c};

    if (kmock_groups_new(&c->groups, &cfg) != 0)
        return KAFKA_ERR_NOMEM;
    kmock_groups_set_topics(c->groups, visit_topics, c);
    kmock_groups_set_txn_check(c->groups, kmock_txn_check_group, c);
    return 0;
}

void kmock_groups_detach(kmock_cluster *c)
{
    kmock_groups_free(c->groups);
    c->groups = NULL;
}

bool kmock_groups_serves(int16_t api_key, int16_t *min_v, int16_t *max_v)
{
    switch (api_key) {
    case KAFKA_API_OFFSET_COMMIT:
    case KAFKA_API_OFFSET_FETCH:
    case KAFKA_API_JOIN_GROUP:
    case KAFKA_API_HEARTBEAT:
    case KAFKA_API_LEAVE_GROUP:
    case KAFKA_API_SYNC_GROUP:
    case KAFKA_API_DESCRIBE_GROUPS:
    case KAFKA_API_LIST_GROUPS:
    case KAFKA_API_DELETE_GROUPS:
    case KAFKA_API_OFFSET_DELETE:
    case KAFKA_API_CONSUMER_GROUP_HEARTBEAT:
    case KAFKA_API_CONSUMER_GROUP_DESCRIBE:
    case KAFKA_API_TXN_OFFSET_COMMIT:
        /* every version of the schemas (kmock_api_supported clamps) */
        *min_v = 0;
        *max_v = INT16_MAX;
        return true;
    default:
        return false;
    }
}

int kmock_groups_dispatch(kmock_cluster *c, int16_t api_key, int16_t version, const uint8_t *body, size_t len,
                          int64_t now_ms, uint64_t token, kmock_group_reply_fn reply, void *ctx)
{
    return kmock_groups_handle(c->groups, api_key, version, body, len, now_ms, token, reply, ctx);
}

void kmock_groups_txn_ended(kmock_cluster *c, int64_t producer_id, bool commit)
{
    kmock_groups_end_txn(c->groups, producer_id, commit);
}

int64_t kmock_groups_timer(kmock_cluster *c, int64_t now_ms)
{
    return kmock_groups_tick(c->groups, now_ms);
}
