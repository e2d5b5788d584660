#include "admin_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

#include "kafka/conn.h"

kafka_admin *kt_admin_new(kt_cluster *kt)
{
    kafka_admin *a = NULL;
    char err[256] = "";
    kafka_admin_config cfg = {.brokers = kt_cluster_bootstrap(kt), .backoff_min_ms = 20, .backoff_max_ms = 200};
    if (kafka_admin_new(&a, &cfg, err, sizeof err) != 0)
        fail_msg("kafka_admin_new: %s", err);
    return a;
}

void kt_produce_n(kt_cluster *kt, const char *topic, int32_t partition, int n)
{
    kafka_conn *c = NULL;
    kafka_err err = kafka_dial_leader(&c, kt_cluster_bootstrap(kt), topic, partition, NULL, 10000);
    if (err)
        fail_msg("dial leader of %s [%d]: %s: %s", topic, (int)partition, kafka_err_str(err), kafka_dial_last_error());
    kafka_conn_set_timeout(c, 10000);
    for (int i = 0; i < n; i++) {
        kafka_message m = {.value = "x", .value_len = 1};
        err = kafka_conn_write_messages(c, &m, 1, NULL, NULL);
        if (err)
            fail_msg("produce to %s [%d]: %s: %s", topic, (int)partition, kafka_err_str(err), kafka_conn_last_error(c));
    }
    kafka_conn_close(c);
}

char *kt_filled_topic(kt_cluster *kt, const char *prefix)
{
    char *topic = kt_unique_topic(prefix);
    assert_int_equal(kt_cluster_create_topic(kt, topic, 3, 3), 0);
    for (int p = 0; p < 3; p++)
        assert_int_equal(kt_cluster_cmd(kt, "leader %s %d %d", topic, p, p + 1), 0);
    kt_produce_n(kt, topic, 0, 5);
    kt_produce_n(kt, topic, 1, 3);
    return topic;
}

bool kt_has_groups(kt_cluster *kt)
{
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_versions *v = NULL;
    assert_int_equal(kafka_admin_api_versions(a, 10000, &v), 0);
    int have = 0;
    for (size_t k = 0; k < v->brokers[0].n_apis; k++) {
        int16_t key = v->brokers[0].apis[k].api_key;
        have += key == 8 || key == 9 || key == 11; /* OffsetCommit, OffsetFetch, JoinGroup */
    }
    kafka_admin_versions_free(v);
    kafka_admin_close(a);
    return have == 3;
}
