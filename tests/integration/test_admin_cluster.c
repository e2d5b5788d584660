/* kafka_admin_describe_cluster and kafka_admin_api_versions against the
 * test broker (3 brokers, ids 1..3 on 127.0.0.1; the expected versions
 * come from the broker's own "apiversions" control command). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "admin_util.h"
#include "kafka/admin.h"
#include "test_cluster.h"

static void test_describe_cluster(void **state)
{
    kt_cluster *kt = *state;
    bool racks = kt_cluster_cmd(kt, "rack 2 rack-b") == 0; /* a mock control command */
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_cluster *c = NULL;
    assert_int_equal(kafka_admin_describe_cluster(a, 10000, &c), 0);
    assert_int_equal(c->n_brokers, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(c->brokers[i].id, (int)i + 1);
        assert_string_equal(c->brokers[i].host, "127.0.0.1");
        char addr[64];
        snprintf(addr, sizeof addr, "127.0.0.1:%d", (int)c->brokers[i].port);
        assert_non_null(strstr(kt_cluster_bootstrap(kt), addr));
    }
    if (racks) {
        assert_non_null(c->brokers[1].rack);
        assert_string_equal(c->brokers[1].rack, "rack-b");
    }
    /* librdkafka's mock reports controller 0, which is none of its
     * brokers: -1 then; other brokers name one of theirs */
    assert_true(c->controller == -1 || (c->controller >= 1 && c->controller <= 3));
    assert_non_null(c->cluster_id);
    kafka_admin_cluster_free(c);
    kafka_admin_close(a);
}

/* The versions the broker advertised, from the mock's own "apiversions"
 * control command ("ok key:min:max,..."); false when it has none. */
static bool advertised(kt_cluster *kt, int key, int *min, int *max)
{
    if (kt_cluster_cmd(kt, "apiversions") != 0)
        return false;
    const char *p = strstr(kt_cluster_last_reply(kt), "ok ");
    for (p = p ? p + 3 : NULL; p && *p;) {
        int k, lo, hi;
        if (sscanf(p, "%d:%d:%d", &k, &lo, &hi) != 3)
            return false;
        if (k == key) {
            *min = lo;
            *max = hi;
            return true;
        }
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    return false;
}

static void test_api_versions(void **state)
{
    kt_cluster *kt = *state;
    int md_min = -1, md_max = -1, lo_min = -1, lo_max = -1;
    bool known = advertised(kt, 3, &md_min, &md_max) && advertised(kt, 2, &lo_min, &lo_max);
    kafka_admin *a = kt_admin_new(kt);
    kafka_admin_versions *v = NULL;
    assert_int_equal(kafka_admin_api_versions(a, 10000, &v), 0);
    assert_int_equal(v->n, 3);
    for (size_t i = 0; i < v->n; i++) {
        assert_int_equal(v->brokers[i].broker, (int)i + 1);
        assert_int_equal(v->brokers[i].err, 0);
        int found = 0;
        for (size_t k = 0; k < v->brokers[i].n_apis; k++) {
            const kafka_api_version *x = &v->brokers[i].apis[k];
            if (x->api_key == 3) { /* Metadata */
                if (known) {
                    assert_int_equal(x->min_version, md_min);
                    assert_int_equal(x->max_version, md_max);
                }
                found++;
            }
            if (x->api_key == 2) { /* ListOffsets */
                /* at most what the broker implements: the test broker
                 * advertises less (0-3, see tests/broker/README.md) */
                if (known)
                    assert_true(x->max_version >= 0 && x->max_version <= lo_max);
                found++;
            }
        }
        assert_int_equal(found, 2);
    }
    kafka_admin_versions_free(v);
    assert_int_equal(kafka_admin_api_versions(a, 10000, NULL), KAFKA_ERR_INVALID_ARG);
    assert_int_equal(kafka_admin_describe_cluster(a, 10000, NULL), KAFKA_ERR_INVALID_ARG);
    kafka_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe_cluster),
        cmocka_unit_test(test_api_versions),
    };
    return cmocka_run_group_tests(tests, kt_cluster_group_setup, kt_cluster_group_teardown);
}
