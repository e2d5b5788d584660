#include "kafka/kafka.h"

const char *kafka_version(void) { return KAFKA_VERSION_STRING; }
