/* A small program built against an installed libkafka (see run.sh). It
 * names the writer, the reader and the dialer so that a static link pulls
 * in the whole library (codecs included: snappy is C++), and calls what
 * needs no broker. */
#include <kafka/kafka.h>
#include <stdio.h>
#include <string.h>

typedef void (*any_fn)(void);

int main(void)
{
    const any_fn linked[] = { (any_fn)kafka_writer_new, (any_fn)kafka_reader_new, (any_fn)kafka_dial };
    kafka_codec codec;
    if (kafka_codec_parse("snappy", &codec) != 0 || linked[0] == NULL)
        return 1;
    printf("libkafka %s (headers %s): %s\n", kafka_version(), KAFKA_VERSION_STRING,
           kafka_err_str(KAFKA_ERR_NOT_LEADER_OR_FOLLOWER));
    return strcmp(kafka_err_name(KAFKA_ERR_TIMEOUT), "TIMEOUT") != 0;
}
