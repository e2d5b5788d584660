/* SASL mechanism table (see sasl.h). */
#include "net/sasl.h"

#include <string.h>

static const kafka_sasl_mech *const kafka_sasl_mechs[] = {
    &kafka_sasl_plain,
    &kafka_sasl_scram_sha256,
    &kafka_sasl_scram_sha512,
    &kafka_sasl_oauthbearer,
};

#define KAFKA_SASL_NMECHS (sizeof kafka_sasl_mechs / sizeof kafka_sasl_mechs[0])

const kafka_sasl_mech *kafka_sasl_mech_by_id(kafka_sasl_mechanism_id id)
{
    for (size_t i = 0; i < KAFKA_SASL_NMECHS; i++)
        if (kafka_sasl_mechs[i]->id == id)
            return kafka_sasl_mechs[i];
    return NULL;
}

const kafka_sasl_mech *kafka_sasl_mech_by_name(const char *name, size_t len)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < KAFKA_SASL_NMECHS; i++) {
        const char *n = kafka_sasl_mechs[i]->name;
        if (strlen(n) == len && memcmp(n, name, len) == 0)
            return kafka_sasl_mechs[i];
    }
    return NULL;
}
