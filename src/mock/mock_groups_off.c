/* The mock without its group module: see mock_groups_dispatch.h. Replaced
 * by mock_groups_on.c once src/mock/mock_group.c is in the tree. */
#include "mock/mock_groups_dispatch.h"

kafka_err kmock_groups_attach(kmock_cluster *c)
{
    (void)c;
    return 0;
}

void kmock_groups_detach(kmock_cluster *c) { (void)c; }

bool kmock_groups_serves(int16_t api_key, int16_t *min_v, int16_t *max_v)
{
    (void)api_key;
    (void)min_v;
    (void)max_v;
    return false;
}

int kmock_groups_dispatch(kmock_cluster *c, int16_t api_key, int16_t version, const uint8_t *body, size_t len,
                          int64_t now_ms, uint64_t token, kmock_group_reply_fn reply, void *ctx)
{
    (void)c, (void)api_key, (void)version, (void)body, (void)len, (void)now_ms, (void)token, (void)reply, (void)ctx;
    return -1;
}

void kmock_groups_txn_ended(kmock_cluster *c, int64_t producer_id, bool commit)
{
    (void)c, (void)producer_id, (void)commit;
}

int64_t kmock_groups_timer(kmock_cluster *c, int64_t now_ms)
{
    (void)c;
    (void)now_ms;
    return INT64_MAX;
}
