/* Record-batch fixtures for tests (batch_util.h). */
#include "batch_util.h"

#include <string.h>

#include "protocol/record_batch.h"

int kt_add_batch(kafka_wbuf *w, int64_t base, int64_t pid, bool txn, const char *const *vals, int n)
{
    kafka_batch_builder_config cfg = kafka_batch_builder_config_default();
    cfg.base_offset = base;
    if (txn) {
        cfg.producer_id = pid;
        cfg.producer_epoch = 0;
        cfg.base_sequence = 0;
        cfg.transactional = true;
    }
    kafka_batch_builder b;
    if (kafka_batch_builder_init(&b, w, &cfg) != 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (kafka_batch_builder_append(&b, 1000, NULL, -1, vals[i], (int32_t)strlen(vals[i]), NULL, 0) != 0)
            return -1;
    return kafka_batch_builder_finish(&b) == 0 ? 0 : -1;
}
