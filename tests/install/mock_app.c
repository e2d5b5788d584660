/* A small test program built against an installed libkafka-mock (see
 * scripts/build-deb.sh and tests/install/CMakeLists.txt): starts a
 * two-broker kafka_mock, creates a topic and checks the mock reports it
 * empty. Exit 0 = pass. */
#include <kafka/kafka.h>
#include <kafka/mock.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    kafka_mock *m;
    kafka_err err = kafka_mock_new(&m, &(kafka_mock_config){.brokers = 2});
    if (err) {
        fprintf(stderr, "kafka_mock_new: %s\n", kafka_err_str(err));
        return 1;
    }
    int64_t lo = -1, hi = -1;
    int ok = kafka_mock_broker_count(m) == 2 && strncmp(kafka_mock_bootstrap(m), "127.0.0.1:", 10) == 0 &&
             kafka_mock_create_topic(m, "installed", 3, 2) == 0 &&
             kafka_mock_partition_offsets(m, "installed", 2, &lo, &hi) == 0 && lo == 0 && hi == 0;
    printf("kafka_mock at %s: %s\n", kafka_mock_bootstrap(m), ok ? "ok" : "FAILED");
    kafka_mock_close(m);
    return ok ? 0 : 1;
}
