/* Group helpers shared by admin_groups.c and admin_lag.c (internal). */
#ifndef KAFKA_ADMIN_GROUPS_H
#define KAFKA_ADMIN_GROUPS_H

#include "admin/admin_int.h"

/* INVALID_ARG (with text) for an empty or over-long group id. */
kafka_err admin_check_group(kafka_admin *a, const char *what, const char *group);

/* DescribeGroups of one group into *o, strings and arrays from `ar`.
 * Returns a request-level error; the group's own error is in o->err. */
kafka_err admin_describe_group(kafka_admin *a, const char *group, int64_t deadline, kafka_arena *ar,
                               kafka_admin_group *o);

/* kafka_admin_fetch_offsets inside a call. */
kafka_err admin_fetch_offsets(kafka_admin *a, const char *group, int64_t deadline, kafka_admin_group_offsets **out);

#endif
