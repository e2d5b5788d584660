/*
 * A unit test of your own code against kafka_mock, the in-process fake
 * Kafka cluster (libkafka-mock, include/kafka/mock.h): start a 3-broker
 * cluster, write with a kafka_writer, read back with a kafka_reader.
 * Build: cc test_mock.c $(pkg-config --cflags --libs libkafka libkafka-mock cmocka)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kafka/kafka.h"
#include "kafka/mock.h"

static void write_then_read(void **state)
{
    kafka_mock *mock;
    kafka_writer *w;
    kafka_reader *r;
    char value[32];

    (void)state;
    assert_int_equal(kafka_mock_new(&mock, &(kafka_mock_config){.brokers = 3}), 0);
    assert_int_equal(kafka_mock_create_topic(mock, "orders", 1, 3), 0);

    assert_int_equal(kafka_writer_new(&w, &(kafka_writer_config){.brokers = kafka_mock_bootstrap(mock),
                                                                 .topic = "orders"},
                                      NULL, 0),
                     0);
    for (int i = 0; i < 10; i++) {
        snprintf(value, sizeof(value), "order-%d", i);
        kafka_message m = {.value = value, .value_len = strlen(value)};
        assert_int_equal(kafka_writer_write_messages(w, &m, 1, NULL, 10000), 0);
    }
    assert_int_equal(kafka_writer_close(w, 10000), 0);

    assert_int_equal(kafka_reader_new(&r, &(kafka_reader_config){.brokers = kafka_mock_bootstrap(mock),
                                                                 .topic = "orders", .partition = 0},
                                      NULL, 0),
                     0);
    for (int i = 0; i < 10; i++) {
        kafka_message m;
        snprintf(value, sizeof(value), "order-%d", i);
        assert_int_equal(kafka_reader_read_message(r, &m, 10000), 0);
        assert_int_equal(m.offset, i);
        assert_int_equal(m.value_len, strlen(value));
        assert_memory_equal(m.value, value, m.value_len);
    }
    kafka_reader_close(r);
    kafka_mock_close(mock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(write_then_read)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
