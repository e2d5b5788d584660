/*
 * libkafka — the log hook shared by kafka_writer and kafka_reader.
 *
 * A writer or reader configured with a kafka_log_fn calls it for events of
 * the configured level or more severe (ERROR < WARN < INFO < DEBUG in
 * verbosity). Without one, the library logs nothing.
 */
#ifndef KAFKA_LOG_H
#define KAFKA_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels of kafka_log_fn, from the most to the least severe. */
typedef enum kafka_log_level {
    KAFKA_LOG_ERROR = 0,
    KAFKA_LOG_WARN = 1,
    KAFKA_LOG_INFO = 2,
    KAFKA_LOG_DEBUG = 3
} kafka_log_level;

/* Log callback: `msg` is NUL-terminated and valid during the call only.
 * Called from the library's background threads (and from the calling
 * thread), possibly concurrently: it must be thread-safe and must not call
 * back into the writer or reader that logs. */
typedef void (*kafka_log_fn)(void *privdata, kafka_log_level level, const char *msg);

#ifdef __cplusplus
}
#endif
#endif /* KAFKA_LOG_H */
