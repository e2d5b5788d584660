/*
 * group_lag — prints a consumer group's lag per partition and in total,
 * with kafka_admin (the README's "Group lag in ten lines of C").
 *
 *   group_lag -b host:port[,...] -g group
 *
 * Lag is end offset - committed offset, or end - log start for a
 * partition the group has no commit for. Exit status 0, or 1 with the
 * reason on stderr (e.g. an unreachable broker after the 10 s timeout).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kafka/kafka.h"

int main(int argc, char **argv)
{
    const char *brokers = NULL, *group = NULL;
    int c;
    while ((c = getopt(argc, argv, "b:g:")) != -1) {
        if (c == 'b')
            brokers = optarg;
        else if (c == 'g')
            group = optarg;
        else
            return 2;
    }
    if (!brokers || !group) {
        fprintf(stderr, "usage: group_lag -b host:port[,...] -g group\n");
        return 2;
    }

    kafka_admin *a;
    char why[512];
    if (kafka_admin_new(&a, &(kafka_admin_config){.brokers = brokers}, why, sizeof why)) {
        fprintf(stderr, "group_lag: %s\n", why);
        return 1;
    }
    kafka_admin_group_lag *lag;
    kafka_err err = kafka_admin_lag(a, group, 10000, &lag);
    if (lag) { /* set even when some partitions failed: print what is known */
        for (size_t i = 0; i < lag->n; i++) {
            const kafka_admin_partition_lag *p = &lag->partitions[i];
            printf("%s [%d] committed %lld end %lld lag %lld%s%s\n", p->topic, (int)p->partition,
                   (long long)p->committed, (long long)p->end, (long long)p->lag, p->err ? " error " : "",
                   p->err ? kafka_err_name(p->err) : "");
        }
        printf("total lag %lld\n", (long long)lag->total);
    }
    if (err) {
        kafka_admin_last_error(a, why, sizeof why);
        fprintf(stderr, "group_lag: %s\n", why);
    }
    kafka_admin_group_lag_free(lag);
    kafka_admin_close(a);
    return err ? 1 : 0;
}
