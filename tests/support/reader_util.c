/* Helpers of the group-reader tests (reader_util.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reader_util.h"

kafka_reader *kt_reader_open(const kafka_reader_config *c)
{
    kafka_reader *r = NULL;
    char err[256] = "";
    kafka_err e = kafka_reader_new(&r, c, err, sizeof err);
    if (e)
        fail_msg("kafka_reader_new: %s: %s", kafka_err_name(e), err);
    return r;
}

int kt_value_num(const kafka_message *m)
{
    char tmp[32];
    size_t n = m->value_len < sizeof tmp - 1 ? m->value_len : sizeof tmp - 1;
    memcpy(tmp, m->value, n);
    tmp[n] = 0;
    if (tmp[0] != 'm')
        return -1;
    char *end;
    long v = strtol(tmp + 1, &end, 10);
    return end == tmp + 1 || *end ? -1 : (int)v;
}

int32_t kt_reader_partitions(kafka_reader *r)
{
    kafka_reader_stats st;
    kafka_reader_stats_get(r, &st);
    return st.partitions;
}

static void log_stderr(void *priv, kafka_log_level lvl, const char *msg)
{
    fprintf(stderr, "[reader %s %d] %s\n", priv ? (const char *)priv : "", (int)lvl, msg);
}

void kt_reader_log_from_env(kafka_reader_config *c, const char *tag)
{
    if (!getenv("KT_LOG"))
        return;
    c->log = log_stderr;
    c->log_privdata = (void *)(uintptr_t)tag;
    c->log_level = KAFKA_LOG_DEBUG;
}
