/* Replica operations in the mock: ElectLeaders (KIP-460, served by the
 * controller, broker 1 as Metadata says), DescribeLogDirs (every broker
 * describes its one log dir) and DescribeProducers (KIP-664, served by the
 * partition leader from the log's idempotent producer state). */
#include <stdio.h>
#include <string.h>

#include "mock/mock_cluster.h"
#include "protocol/gen/all.h"

/* Metadata's controller_id (mock_api_meta.c) */
#define CONTROLLER_ID 1
#define ELECT_PREFERRED 0
#define ELECT_UNCLEAN 1

static bool broker_up(const kmock_cluster *c, int32_t id)
{
    const kmock_broker_info *b = kmock_broker(c, id);
    return b && b->up;
}

/* One partition's election, as Kafka's controller runs it. PREFERRED: the
 * first replica of the assignment leads (ELECTION_NOT_NEEDED when it does
 * already, PREFERRED_LEADER_NOT_AVAILABLE when it is down). UNCLEAN: only
 * a leaderless partition, to its first live replica (ELECTION_NOT_NEEDED
 * when it has a leader, ELIGIBLE_LEADERS_NOT_AVAILABLE when none is up). */
static int16_t elect(kmock_cluster *c, kmock_partition *p, int8_t type)
{
    int32_t chosen = -1;

    if (p->nreplicas < 1)
        return KAFKA_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    if (type == ELECT_PREFERRED) {
        if (p->leader == p->replicas[0])
            return KAFKA_ERR_ELECTION_NOT_NEEDED;
        if (!broker_up(c, p->replicas[0]))
            return KAFKA_ERR_PREFERRED_LEADER_NOT_AVAILABLE;
        chosen = p->replicas[0];
    } else {
        if (p->leader >= 0 && broker_up(c, p->leader))
            return KAFKA_ERR_ELECTION_NOT_NEEDED;
        for (int32_t i = 0; i < p->nreplicas && chosen < 0; i++)
            if (broker_up(c, p->replicas[i]))
                chosen = p->replicas[i];
        if (chosen < 0)
            return KAFKA_ERR_ELIGIBLE_LEADERS_NOT_AVAILABLE;
    }
    p->leader = chosen;
    p->leader_epoch++;
    return 0;
}

static void set_result(kafka_elect_leaders_response_partition_result *r, int32_t partition, int16_t err)
{
    kafka_elect_leaders_response_partition_result_init(r);
    r->partition_id = partition;
    r->error_code = err;
    if (err)
        r->error_message = kafka_str_c(kafka_err_str(err));
}

/* Every partition of the cluster (topic_partitions null): Kafka answers
 * only the partitions it elected or failed to elect, leaving out those
 * that needed no election. */
static bool elect_all(kmock_cluster *c, int8_t type, kafka_arena *a, kafka_elect_leaders_response *resp)
{
    if (!KMOCK_ARRAY(a, resp->replica_election_results, c->ntopics))
        return false;
    resp->replica_election_results_count = 0;
    for (size_t i = 0; i < c->ntopics; i++) {
        kmock_topic *t = c->topics[i];
        kafka_elect_leaders_response_replica_election_result *tr =
            &resp->replica_election_results[resp->replica_election_results_count];
        kafka_elect_leaders_response_replica_election_result_init(tr);
        tr->topic = kafka_str_c(t->name);
        if (!KMOCK_ARRAY(a, tr->partition_result, t->npartitions))
            return false;
        tr->partition_result_count = 0;
        for (int32_t k = 0; k < t->npartitions; k++) {
            int16_t err = elect(c, &t->partitions[k], type);
            if (err != KAFKA_ERR_ELECTION_NOT_NEEDED)
                set_result(&tr->partition_result[tr->partition_result_count++], k, err);
        }
        if (tr->partition_result_count > 0)
            resp->replica_election_results_count++;
    }
    return true;
}

kmock_outcome kmock_elect_leaders(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                  int64_t *wake_at)
{
    kafka_elect_leaders_request *req = kmock_decode(rq, a);
    kafka_elect_leaders_response resp;
    int16_t top = rq->injected;

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_elect_leaders_response_init(&resp);
    resp.replica_election_results_count = 0;
    if (!top && rq->broker_id != CONTROLLER_ID)
        top = KAFKA_ERR_NOT_CONTROLLER;
    if (!top && req->election_type != ELECT_PREFERRED && req->election_type != ELECT_UNCLEAN)
        top = KAFKA_ERR_INVALID_REQUEST;
    if (top) {
        /* v0 has no top-level error: every partition carries it */
        resp.error_code = top;
        if (rq->api_version > 0 || req->topic_partitions_count <= 0)
            return kmock_encode(rq, &resp, out);
    } else if (req->topic_partitions_count < 0) {
        return elect_all(c, req->election_type, a, &resp) ? kmock_encode(rq, &resp, out) : KMOCK_CLOSE;
    }
    if (!KMOCK_ARRAY(a, resp.replica_election_results, req->topic_partitions_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->topic_partitions_count; i++) {
        const kafka_elect_leaders_request_topic_partitions *qt = &req->topic_partitions[i];
        kafka_elect_leaders_response_replica_election_result *tr = &resp.replica_election_results[i];
        kafka_elect_leaders_response_replica_election_result_init(tr);
        tr->topic = qt->topic;
        if (!KMOCK_ARRAY(a, tr->partition_result, qt->partitions_count > 0 ? qt->partitions_count : 0))
            return KMOCK_CLOSE;
        for (int32_t k = 0; k < tr->partition_result_count; k++) {
            kmock_partition *p = kmock_partition_get(c, qt->topic, qt->partitions[k]);
            int16_t err = top ? top : p ? elect(c, p, req->election_type) : KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            set_result(&tr->partition_result[k], qt->partitions[k], err);
        }
    }
    return kmock_encode(rq, &resp, out);
}

/* ---- DescribeLogDirs ---- */

static bool holds_replica(const kmock_partition *p, int32_t broker)
{
    for (int32_t i = 0; i < p->nreplicas; i++)
        if (p->replicas[i] == broker)
            return true;
    return false;
}

static bool topic_wanted(const kafka_describe_log_dirs_request *req, const kmock_topic *t, int32_t partition)
{
    if (req->topics_count < 0)
        return true;
    for (int32_t i = 0; i < req->topics_count; i++) {
        if (!kafka_str_eq_c(req->topics[i].topic, t->name))
            continue;
        for (int32_t k = 0; k < req->topics[i].partitions_count; k++)
            if (req->topics[i].partitions[k] == partition)
                return true;
    }
    return false;
}

/* The log dir's topics: the partitions this broker holds a replica of
 * (those asked for), each with its log's size in bytes. The mock keeps
 * one log per partition, so followers are never behind (offset lag 0). */
static bool fill_log_dir(const kmock_cluster *c, int32_t broker, const kafka_describe_log_dirs_request *req,
                         kafka_arena *a, kafka_describe_log_dirs_response_describe_log_dirs_result *dir)
{
    if (!KMOCK_ARRAY(a, dir->topics, c->ntopics))
        return false;
    dir->topics_count = 0;
    for (size_t i = 0; i < c->ntopics; i++) {
        const kmock_topic *t = c->topics[i];
        kafka_describe_log_dirs_response_describe_log_dirs_topic *dt = &dir->topics[dir->topics_count];
        kafka_describe_log_dirs_response_describe_log_dirs_topic_init(dt);
        dt->name = kafka_str_c(t->name);
        if (!KMOCK_ARRAY(a, dt->partitions, t->npartitions))
            return false;
        dt->partitions_count = 0;
        for (int32_t k = 0; k < t->npartitions; k++) {
            const kmock_partition *p = &t->partitions[k];
            if (!holds_replica(p, broker) || !topic_wanted(req, t, k))
                continue;
            kafka_describe_log_dirs_response_describe_log_dirs_partition *dp = &dt->partitions[dt->partitions_count++];
            kafka_describe_log_dirs_response_describe_log_dirs_partition_init(dp);
            dp->partition_index = k;
            dp->partition_size = p->log.bytes;
            dp->offset_lag = 0;
            dp->is_future_key = false;
        }
        if (dt->partitions_count > 0)
            dir->topics_count++;
    }
    return true;
}

kmock_outcome kmock_describe_log_dirs(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                      int64_t *wake_at)
{
    kafka_describe_log_dirs_request *req = kmock_decode(rq, a);
    kafka_describe_log_dirs_response resp;
    char path[64];

    (void)wake_at;
    if (!req)
        return KMOCK_CLOSE;
    kafka_describe_log_dirs_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.results, 1))
        return KMOCK_CLOSE;
    kafka_describe_log_dirs_response_describe_log_dirs_result *dir = &resp.results[0];
    kafka_describe_log_dirs_response_describe_log_dirs_result_init(dir);
    snprintf(path, sizeof path, "/kafka-mock/broker-%d", (int)rq->broker_id);
    dir->log_dir = kafka_str_c(kmock_cstr(a, kafka_str_c(path)));
    dir->topics_count = 0;
    /* v4's volume sizes: the mock has no volume, -1 is Kafka's "unknown" */
    dir->total_bytes = -1;
    dir->usable_bytes = -1;
    if (!fill_log_dir(c, rq->broker_id, req, a, dir))
        return KMOCK_CLOSE;
    return kmock_encode(rq, &resp, out);
}

/* ---- DescribeProducers ---- */

/* Kafka's ProducerStateEntry.lastTimestamp: the max timestamp of the
 * producer's last batch, while the log still holds it (-1 otherwise). */
static int64_t last_timestamp(const kmock_log *l, const kmock_producer *pr)
{
    if (pr->n == 0)
        return -1;
    int64_t offset = pr->recent[pr->n - 1].base_offset;
    size_t i = kmock_log_find(l, offset);
    const kmock_batch *b = i < l->n ? kmock_log_batch(l, i) : NULL;
    return b && b->base_offset == offset && b->producer_id == pr->producer_id ? b->max_timestamp : -1;
}

static bool fill_producers(const kmock_partition *p, kafka_arena *a,
                           kafka_describe_producers_response_partition_response *rp)
{
    const kmock_log *l = &p->log;

    if (!KMOCK_ARRAY(a, rp->active_producers, l->nproducers))
        return false;
    for (size_t i = 0; i < l->nproducers; i++) {
        const kmock_producer *pr = &l->producers[i];
        kafka_describe_producers_response_producer_state *s = &rp->active_producers[i];
        kafka_describe_producers_response_producer_state_init(s);
        s->producer_id = pr->producer_id;
        s->producer_epoch = pr->epoch;
        s->last_sequence = pr->n > 0 ? pr->recent[pr->n - 1].last_seq : -1;
        s->last_timestamp = last_timestamp(l, pr);
        s->coordinator_epoch = -1;
        s->current_txn_start_offset = pr->txn_first_offset;
    }
    return true;
}

kmock_outcome kmock_describe_producers(kmock_cluster *c, const kmock_request *rq, kafka_arena *a, kafka_wbuf *out,
                                       int64_t *wake_at)
{
    kafka_describe_producers_request *req = kmock_decode(rq, a);
    kafka_describe_producers_response resp;

    (void)wake_at;
    if (!req || req->topics_count < 0)
        return KMOCK_CLOSE;
    kafka_describe_producers_response_init(&resp);
    if (!KMOCK_ARRAY(a, resp.topics, req->topics_count))
        return KMOCK_CLOSE;
    for (int32_t i = 0; i < req->topics_count; i++) {
        const kafka_describe_producers_request_topic_request *qt = &req->topics[i];
        kafka_describe_producers_response_topic_response *tr = &resp.topics[i];
        int32_t n = qt->partition_indexes_count > 0 ? qt->partition_indexes_count : 0;
        kafka_describe_producers_response_topic_response_init(tr);
        tr->name = qt->name;
        if (!KMOCK_ARRAY(a, tr->partitions, n))
            return KMOCK_CLOSE;
        for (int32_t k = 0; k < n; k++) {
            kafka_describe_producers_response_partition_response *rp = &tr->partitions[k];
            const kmock_partition *p = kmock_partition_get(c, qt->name, qt->partition_indexes[k]);
            int16_t err = kmock_topic_denied(c, rq, KMOCK_OP_READ, qt->name);
            if (!err)
                err = kmock_partition_error(c, rq, p);
            kafka_describe_producers_response_partition_response_init(rp);
            rp->partition_index = qt->partition_indexes[k];
            rp->error_code = err;
            rp->active_producers_count = 0;
            if (err)
                rp->error_message = kafka_str_c(kafka_err_str(err));
            else if (!fill_producers(p, a, rp))
                return KMOCK_CLOSE;
        }
    }
    return kmock_encode(rq, &resp, out);
}
