/* A 10-line program built against an installed libkafka (see run.sh). */
#include <kafka/kafka.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    printf("libkafka %s: %s\n", kafka_version(), kafka_err_str(KAFKA_ERR_NOT_LEADER_OR_FOLLOWER));
    return strcmp(kafka_err_name(KAFKA_ERR_TIMEOUT), "TIMEOUT") != 0;
}
