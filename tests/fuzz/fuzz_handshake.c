/*
 * libFuzzer target for connection setup (src/engine/handshake.c) over a
 * ke_wire: ApiVersions, then SASL PLAIN (first input byte odd) or none.
 *
 * Input: after the first byte, the broker's answers, each as a 2-byte
 * big-endian length then that many body bytes; the harness frames each
 * one as the answer to the request outstanding (size, its correlation id,
 * a response-header tag byte where the header is flexible; a raw token
 * for the v0 SASL exchange), so the fuzzer explores the bodies rather
 * than guessing correlation ids. Must never crash, hang or leak; results
 * are not checked.
 */
#include <stdint.h>
#include <string.h>

#include "engine/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    kafka_dialer_config cfg = {0};
    if (data[0] & 1)
        cfg.sasl = (kafka_sasl_config){.mechanism = KAFKA_SASL_PLAIN, .username = "u", .password = "p"};
    data++, size--;
    ke_wire w;
    ke_wire_init(&w, 10, 100, 1 << 20);
    ke_wire_open(&w);
    ke_handshake h;
    ke_handshake_start(&h, &w, &cfg, "fuzz:9092", "fuzz", -1);
    for (int round = 0; round < 64 && !ke_handshake_finished(&h); round++) {
        struct iovec iov[8];
        int n;
        while ((n = ke_wire_output(&w, iov, 8)) > 0) { /* "written" */
            size_t total = 0;
            for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
            ke_wire_wrote(&w, total);
        }
        if (size < 2 || w.len == 0)
            break;
        size_t len = (size_t)(data[0] << 8 | data[1]);
        data += 2, size -= 2;
        if (len > size)
            len = size;
        const ke_wire_req *q = &w.reqs[w.head];
        uint8_t frame[4 + 4 + 1 + 65535];
        size_t at = 4;
        if (!q->raw_response) {
            uint32_t c = (uint32_t)q->corr;
            frame[at++] = (uint8_t)(c >> 24), frame[at++] = (uint8_t)(c >> 16);
            frame[at++] = (uint8_t)(c >> 8), frame[at++] = (uint8_t)c;
            if (q->flexible_response)
                frame[at++] = 0;
        }
        memcpy(frame + at, data, len);
        at += len;
        data += len, size -= len;
        uint32_t fs = (uint32_t)(at - 4);
        frame[0] = (uint8_t)(fs >> 24), frame[1] = (uint8_t)(fs >> 16), frame[2] = (uint8_t)(fs >> 8);
        frame[3] = (uint8_t)fs;
        kafka_err err = ke_wire_feed(&w, frame, at);
        if (err)
            ke_wire_fail(&w, err, 0, w.err);
    }
    ke_wire_destroy(&w);
    ke_handshake_free(&h);
    return 0;
}
