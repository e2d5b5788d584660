/* kafka_conn_shutdown: used by the cluster's connection pool to wake
 * borrowed connections when a writer or reader is closed. */
#include "conn/conn_priv.h"

void kafka_conn_shutdown(kafka_conn *c)
{
    if (c && c->s)
        kafka_stream_interrupt(c->s); /* the stream stays dead: later calls fail with CLOSED */
}
