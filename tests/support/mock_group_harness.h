/*
 * Test harness for the mock's group coordinator (src/mock/mock_group.h):
 * one coordinator, a fake clock, and a reply recorder, so tests send
 * encoded request bodies and decode the answers, deferred ones included.
 * Only the mock group tests link the coordinator; other tests never call
 * these functions, so the static library member is not pulled into them.
 * Single-threaded, one harness per test process (kt_mg).
 */
#ifndef KT_MOCK_GROUP_HARNESS_H
#define KT_MOCK_GROUP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "mock/mock_group.h"
#include "protocol/gen_runtime.h"

#define KT_MG_MAX_REPLIES 256

typedef struct kt_mg_reply {
    uint64_t token;
    uint8_t *body;
    size_t len;
    bool taken;
} kt_mg_reply;

typedef struct kt_mg {
    kmock_groups *g;
    kafka_arena arena; /* decoded replies and test strings; freed at teardown */
    kt_mg_reply replies[KT_MG_MAX_REPLIES];
    size_t n_replies;
    uint64_t next_token;
    int64_t now; /* the fake clock */
} kt_mg;

extern kt_mg kt_mg_state;

/* Creates the coordinator (clock at 1,000,000 ms). Returns 0 or -1. */
int kt_mg_setup(const kmock_groups_config *cfg);
void kt_mg_teardown(void);

/* Encodes `req` (message m at version) and hands it to the coordinator
 * at the current time. Returns kmock_groups_handle's result; *token (if
 * not NULL) gets the request's token. */
int kt_mg_send(int16_t api_key, const kafka_gen_message *m, int16_t version, const void *req, uint64_t *token);

/* Has the request with this token been answered (and not yet taken)? */
bool kt_mg_has_reply(uint64_t token);

/* Decodes the one answer to `token` into out (arena-backed); fails the test
 * when there is none, when it does not decode exactly, or when there are
 * two. */
void kt_mg_take_reply(uint64_t token, const kafka_gen_message *m, int16_t version, void *out);

/* Forgets every recorded answer and resets the arena. */
void kt_mg_clear(void);

/* Moves the clock and runs the timers. */
void kt_mg_advance(int64_t ms);

/* NUL-terminated arena copy of a view. */
char *kt_mg_dup(kafka_str s);

/* Fails the test unless s is exactly `want`. */
void kt_mg_assert_str(kafka_str s, const char *want);

#endif
