/*
 * libFuzzer target for the SCRAM client's parsing of server messages.
 *
 * Input: server-first and server-final separated by the first '\n'
 * (absent: all of it is the server-first). The client nonce is fixed to
 * "rOprNGfwEbeRWgbNEkqO" so the corpus can carry valid exchanges (seed:
 * RFC 7677). Must never crash, hang or leak; results are not checked.
 */
#include <stdint.h>
#include <string.h>

#include "net/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t first_len = nl ? (size_t)(nl - data) : size;
    void *st = NULL;
    char err[256];
    if (kafka_sasl_scram_create_md("SHA256", "user", "pencil", &st, err, sizeof err) != 0)
        return 0;
    kafka_sasl_scram_set_nonce(st, "rOprNGfwEbeRWgbNEkqO");
    kafka_wbuf out;
    kafka_wbuf_init(&out);
    bool done = false;
    if (kafka_sasl_scram_step(st, NULL, 0, &out, &done, err, sizeof err) == 0 &&
        kafka_sasl_scram_step(st, data, first_len, &out, &done, err, sizeof err) == 0 && nl)
        kafka_sasl_scram_step(st, nl + 1, size - first_len - 1, &out, &done, err, sizeof err);
    kafka_sasl_scram_destroy(st);
    kafka_wbuf_free(&out);
    return 0;
}
