/* kafka_mock's operations APIs without sockets (mock_api_ops.c,
 * mock_api_reassign.c, mock_api_txn_admin.c, mock_api_quotas.c): the
 * routing and error placement the admin client's integration tests do
 * not reach. Expected values are Kafka's: ElectLeaders and the
 * reassignment APIs are answered by the controller only (NOT_CONTROLLER,
 * top level from ElectLeaders v1, per partition in v0); an unknown
 * election type is INVALID_REQUEST; ElectLeaders for every partition
 * (null) leaves out those that needed no election; DescribeTransactions
 * away from the coordinator is NOT_COORDINATOR; ListTransactions reports
 * the state filters it does not know; a describe filter naming a type
 * twice is a top-level INVALID_REQUEST with null entries. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mock/mock_cluster.h"
#include "protocol/api.h"
#include "protocol/gen/all.h"

typedef struct fixture {
    kmock_cluster c;
    kafka_arena a;
} fixture;

static int setup(void **state)
{
    fixture *f = test_calloc(1, sizeof *f);
    assert_int_equal(kmock_cluster_init(&f->c, &(kafka_mock_config){.brokers = 3}), 0);
    assert_int_equal(kmock_topic_create(&f->c, "t", 1, 2, 2, NULL), 0);
    kafka_arena_init(&f->a, 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kafka_arena_free(&f->a);
    kmock_cluster_free(&f->c);
    test_free(f);
    return 0;
}

/* Sends req (the request struct of key) at version v to broker; decodes
 * the response into resp. */
static void call(fixture *f, int32_t broker, int16_t key, int16_t v, const void *req, void *resp)
{
    kafka_wbuf body, out;
    kafka_rbuf r;
    int64_t wake = 0;
    kafka_wbuf_init(&body);
    kafka_wbuf_init(&out);
    assert_int_equal(kafka_request_encode_any(&body, key, v, req), 0);
    kmock_request rq = {.broker_id = broker, .api_key = key, .api_version = v, .body = body.data, .len = body.len,
                        .now_ms = f->c.now_ms};
    assert_int_equal(kmock_handle(&f->c, &rq, &out, &wake), KMOCK_RESPOND);
    /* the response lives in the arena: copy the bytes it points into */
    uint8_t *copy = kafka_arena_alloc(&f->a, out.len + 1);
    assert_non_null(copy);
    memcpy(copy, out.data, out.len);
    kafka_rbuf_init(&r, copy, out.len);
    assert_int_equal(kafka_response_decode_any(&r, &f->a, key, v, resp), 0);
    kafka_wbuf_free(&body);
    kafka_wbuf_free(&out);
}

static kafka_elect_leaders_request elect_request(int32_t *partitions, int32_t n, int8_t type)
{
    static kafka_elect_leaders_request_topic_partitions tp;
    kafka_elect_leaders_request req;
    kafka_elect_leaders_request_init(&req);
    kafka_elect_leaders_request_topic_partitions_init(&tp);
    tp.topic = kafka_str_c("t");
    tp.partitions = partitions;
    tp.partitions_count = n;
    req.topic_partitions = &tp;
    req.topic_partitions_count = 1;
    req.election_type = type;
    return req;
}

static void test_elect_routing_and_types(void **state)
{
    fixture *f = *state;
    int32_t parts[] = {0, 1};
    kafka_elect_leaders_request req = elect_request(parts, 2, 0);
    kafka_elect_leaders_response resp;

    /* not the controller: v0 per partition, v1+ at the top */
    call(f, 2, KAFKA_API_ELECT_LEADERS, 0, &req, &resp);
    assert_int_equal(resp.replica_election_results_count, 1);
    assert_int_equal(resp.replica_election_results[0].partition_result_count, 2);
    for (int i = 0; i < 2; i++)
        assert_int_equal(resp.replica_election_results[0].partition_result[i].error_code, KAFKA_ERR_NOT_CONTROLLER);
    call(f, 2, KAFKA_API_ELECT_LEADERS, 2, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_NOT_CONTROLLER);
    assert_int_equal(resp.replica_election_results_count, 0);

    req.election_type = 5;
    call(f, 1, KAFKA_API_ELECT_LEADERS, 1, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_INVALID_REQUEST);

    /* preferred: partition 1 moved away from its first replica is elected
     * back, partition 0 needs nothing, partition 7 does not exist */
    kmock_partition *p1 = kmock_partition_get(&f->c, kafka_str_c("t"), 1);
    int32_t preferred = p1->replicas[0];
    p1->leader = p1->replicas[1];
    int32_t three[] = {0, 1, 7};
    req = elect_request(three, 3, 0);
    call(f, 1, KAFKA_API_ELECT_LEADERS, 1, &req, &resp);
    assert_int_equal(resp.error_code, 0);
    kafka_elect_leaders_response_partition_result *pr = resp.replica_election_results[0].partition_result;
    assert_int_equal(pr[0].error_code, KAFKA_ERR_ELECTION_NOT_NEEDED);
    assert_int_equal(pr[1].error_code, 0);
    assert_int_equal(pr[2].error_code, KAFKA_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    assert_int_equal(p1->leader, preferred);

    /* every partition (null): only the ones elected are listed */
    p1->leader = p1->replicas[1];
    kafka_elect_leaders_request_init(&req);
    req.topic_partitions_count = -1;
    call(f, 1, KAFKA_API_ELECT_LEADERS, 2, &req, &resp);
    assert_int_equal(resp.replica_election_results_count, 1);
    assert_int_equal(resp.replica_election_results[0].partition_result_count, 1);
    assert_int_equal(resp.replica_election_results[0].partition_result[0].partition_id, 1);
    assert_int_equal(resp.replica_election_results[0].partition_result[0].error_code, 0);

    /* the preferred replica down: PREFERRED_LEADER_NOT_AVAILABLE */
    p1->leader = p1->replicas[1];
    f->c.brokers[preferred - 1].up = false;
    req = elect_request(parts + 1, 1, 0);
    call(f, 1, KAFKA_API_ELECT_LEADERS, 1, &req, &resp);
    assert_int_equal(resp.replica_election_results[0].partition_result[0].error_code,
                     KAFKA_ERR_PREFERRED_LEADER_NOT_AVAILABLE);
}

static void test_reassign_needs_controller(void **state)
{
    fixture *f = *state;
    kafka_list_partition_reassignments_request lreq;
    kafka_list_partition_reassignments_response lresp;
    kafka_list_partition_reassignments_request_init(&lreq);
    call(f, 3, KAFKA_API_LIST_PARTITION_REASSIGNMENTS, 0, &lreq, &lresp);
    assert_int_equal(lresp.error_code, KAFKA_ERR_NOT_CONTROLLER);

    /* an empty target is INVALID_REPLICA_ASSIGNMENT */
    kafka_alter_partition_reassignments_request areq;
    kafka_alter_partition_reassignments_response aresp;
    kafka_alter_partition_reassignments_request_reassignable_topic t;
    kafka_alter_partition_reassignments_request_reassignable_partition p;
    kafka_alter_partition_reassignments_request_init(&areq);
    kafka_alter_partition_reassignments_request_reassignable_topic_init(&t);
    kafka_alter_partition_reassignments_request_reassignable_partition_init(&p);
    int32_t none[1];
    p.partition_index = 0;
    p.replicas = none;
    p.replicas_count = 0;
    t.name = kafka_str_c("t");
    t.partitions = &p;
    t.partitions_count = 1;
    areq.topics = &t;
    areq.topics_count = 1;
    call(f, 2, KAFKA_API_ALTER_PARTITION_REASSIGNMENTS, 0, &areq, &aresp);
    assert_int_equal(aresp.error_code, KAFKA_ERR_NOT_CONTROLLER);
    call(f, 1, KAFKA_API_ALTER_PARTITION_REASSIGNMENTS, 0, &areq, &aresp);
    assert_int_equal(aresp.error_code, 0);
    assert_int_equal(aresp.responses[0].partitions[0].error_code, KAFKA_ERR_INVALID_REPLICA_ASSIGNMENT);
}

static void test_transactions_by_coordinator(void **state)
{
    fixture *f = *state;
    int64_t pid;
    int16_t epoch;
    assert_int_equal(kmock_txn_init(&f->c, kafka_str_c("tx"), 1000, 0, &pid, &epoch), 0);
    int32_t coord = kmock_coordinator_for(&f->c, 1, kafka_str_c("tx"));
    int32_t other = coord % 3 + 1;

    kafka_describe_transactions_request dreq;
    kafka_describe_transactions_response dresp;
    kafka_str ids[] = {kafka_str_c("tx")};
    kafka_describe_transactions_request_init(&dreq);
    dreq.transactional_ids = ids;
    dreq.transactional_ids_count = 1;
    call(f, other, KAFKA_API_DESCRIBE_TRANSACTIONS, 0, &dreq, &dresp);
    assert_int_equal(dresp.transaction_states[0].error_code, KAFKA_ERR_NOT_COORDINATOR);
    call(f, coord, KAFKA_API_DESCRIBE_TRANSACTIONS, 0, &dreq, &dresp);
    assert_int_equal(dresp.transaction_states[0].error_code, 0);
    assert_true(kafka_str_eq_c(dresp.transaction_states[0].transaction_state, "Empty"));
    assert_int_equal(dresp.transaction_states[0].producer_id, pid);
    assert_int_equal(dresp.transaction_states[0].transaction_start_time_ms, -1); /* none started yet */

    kafka_list_transactions_request lreq;
    kafka_list_transactions_response lresp;
    kafka_str filters[] = {kafka_str_c("Empty"), kafka_str_c("Sleeping")};
    kafka_list_transactions_request_init(&lreq);
    lreq.state_filters = filters;
    lreq.state_filters_count = 2;
    call(f, coord, KAFKA_API_LIST_TRANSACTIONS, 1, &lreq, &lresp);
    assert_int_equal(lresp.unknown_state_filters_count, 1);
    assert_true(kafka_str_eq_c(lresp.unknown_state_filters[0], "Sleeping"));
    assert_int_equal(lresp.transaction_states_count, 1);
    call(f, other, KAFKA_API_LIST_TRANSACTIONS, 1, &lreq, &lresp);
    assert_int_equal(lresp.transaction_states_count, 0); /* not coordinated there */
    /* a duration filter lists only open transactions older than it */
    lreq.state_filters_count = 0;
    lreq.duration_filter = 10;
    call(f, coord, KAFKA_API_LIST_TRANSACTIONS, 1, &lreq, &lresp);
    assert_int_equal(lresp.transaction_states_count, 0);
}

static void test_quota_filter_errors(void **state)
{
    fixture *f = *state;
    kafka_describe_client_quotas_request req;
    kafka_describe_client_quotas_response resp;
    kafka_describe_client_quotas_request_component_data comp[2];
    kafka_describe_client_quotas_request_init(&req);
    for (int i = 0; i < 2; i++) {
        kafka_describe_client_quotas_request_component_data_init(&comp[i]);
        comp[i].entity_type = kafka_str_c("user");
        comp[i].match_type = 1;
        comp[i].match = KAFKA_STR_NULL;
    }
    req.components = comp;
    req.components_count = 2;
    call(f, 2, KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 1, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(resp.entries_count, -1);
    /* an exact match needs a name */
    comp[0].match_type = 0;
    req.components_count = 1;
    call(f, 2, KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 0, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_INVALID_REQUEST);
    /* ip with user */
    comp[0].match_type = 1;
    comp[1].entity_type = kafka_str_c("ip");
    req.components_count = 2;
    call(f, 2, KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 0, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_INVALID_REQUEST);
    /* a type Kafka does not know: UNSUPPORTED_VERSION */
    comp[0].entity_type = kafka_str_c("group");
    req.components_count = 1;
    call(f, 2, KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 0, &req, &resp);
    assert_int_equal(resp.error_code, KAFKA_ERR_UNSUPPORTED_VERSION);
}

/* Alters one entity of one part (name NULL = default) with one op. */
static int16_t alter(fixture *f, const char *type, const char *name, const char *key, double value, bool remove)
{
    kafka_alter_client_quotas_request req;
    kafka_alter_client_quotas_response resp;
    kafka_alter_client_quotas_request_entry_data e;
    kafka_alter_client_quotas_request_entity_data ent;
    kafka_alter_client_quotas_request_op_data op;
    kafka_alter_client_quotas_request_init(&req);
    kafka_alter_client_quotas_request_entry_data_init(&e);
    kafka_alter_client_quotas_request_entity_data_init(&ent);
    kafka_alter_client_quotas_request_op_data_init(&op);
    ent.entity_type = kafka_str_c(type);
    ent.entity_name = kafka_str_c(name);
    op.key = kafka_str_c(key);
    op.value = value;
    op.remove = remove;
    e.entity = &ent;
    e.entity_count = 1;
    e.ops = &op;
    e.ops_count = 1;
    req.entries = &e;
    req.entries_count = 1;
    call(f, 3, KAFKA_API_ALTER_CLIENT_QUOTAS, 1, &req, &resp);
    assert_int_equal(resp.entries_count, 1);
    return resp.entries[0].error_code;
}

/* A "specified" filter matches every entity of the type, the default one
 * included (Kafka's ClientQuotasImage: the entity has the type); an empty
 * name is refused; removing a key nobody set (or no key Kafka knows) is
 * no error. */
static void test_quota_specified_and_removal(void **state)
{
    fixture *f = *state;
    assert_int_equal(alter(f, "user", NULL, "producer_byte_rate", 100, false), 0);
    assert_int_equal(alter(f, "user", "alice", "producer_byte_rate", 200, false), 0);
    assert_int_equal(alter(f, "user", "", "producer_byte_rate", 200, false), KAFKA_ERR_INVALID_REQUEST);
    assert_int_equal(alter(f, "user", "alice", "no_such_key", 0, true), 0);
    assert_int_equal(alter(f, "client-id", "app", "consumer_byte_rate", 1, true), 0);
    assert_int_equal(f->c.quotas.n, 2);

    kafka_describe_client_quotas_request req;
    kafka_describe_client_quotas_response resp;
    kafka_describe_client_quotas_request_component_data comp;
    kafka_describe_client_quotas_request_init(&req);
    kafka_describe_client_quotas_request_component_data_init(&comp);
    comp.entity_type = kafka_str_c("user");
    comp.match_type = 2;
    comp.match = KAFKA_STR_NULL;
    req.components = &comp;
    req.components_count = 1;
    call(f, 1, KAFKA_API_DESCRIBE_CLIENT_QUOTAS, 1, &req, &resp);
    assert_int_equal(resp.error_code, 0);
    assert_int_equal(resp.entries_count, 2);
}

static void test_log_dirs_filter(void **state)
{
    fixture *f = *state;
    kafka_describe_log_dirs_request req;
    kafka_describe_log_dirs_response resp;
    kafka_describe_log_dirs_request_describable_log_dir_topic t;
    int32_t p1[] = {1};
    kafka_describe_log_dirs_request_init(&req);
    kafka_describe_log_dirs_request_describable_log_dir_topic_init(&t);
    t.topic = kafka_str_c("t");
    t.partitions = p1;
    t.partitions_count = 1;
    req.topics = &t;
    req.topics_count = 1;
    kmock_partition *p = kmock_partition_get(&f->c, kafka_str_c("t"), 1);
    call(f, p->replicas[0], KAFKA_API_DESCRIBE_LOG_DIRS, 4, &req, &resp);
    assert_int_equal(resp.results_count, 1);
    assert_int_equal(resp.results[0].topics_count, 1);
    assert_int_equal(resp.results[0].topics[0].partitions_count, 1);
    assert_int_equal(resp.results[0].topics[0].partitions[0].partition_index, 1);
    assert_int_equal(resp.results[0].topics[0].partitions[0].partition_size, 0);
    /* a broker holding no replica of it lists no topic */
    int32_t outside = 1;
    while (outside == p->replicas[0] || outside == p->replicas[1])
        outside++;
    call(f, outside, KAFKA_API_DESCRIBE_LOG_DIRS, 0, &req, &resp);
    assert_int_equal(resp.results[0].topics_count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_elect_routing_and_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reassign_needs_controller, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions_by_coordinator, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_filter_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_dirs_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_specified_and_removal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
