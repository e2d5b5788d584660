/*
 * kfk — rate and progress on stderr, only when stderr is a terminal (so
 * scripts and logs never see carriage returns): one line, redrawn at most
 * twice a second, cleared at the end.
 */
#include <time.h>
#include <unistd.h>

#include "kfk.h"

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kfk_progress_start(kfk_progress *p, const char *what)
{
    *p = (kfk_progress){.on = isatty(STDERR_FILENO) == 1, .what = what};
    p->start_ms = p->last_ms = now_ms();
}

void kfk_progress_add(kfk_progress *p, int64_t messages, int64_t bytes)
{
    p->count += messages;
    p->bytes += bytes;
    if (!p->on)
        return;
    int64_t now = now_ms();
    if (now - p->last_ms < 500)
        return;
    p->last_ms = now;
    double secs = (double)(now - p->start_ms) / 1000.0;
    fprintf(stderr, "\r%s %lld messages, %.1f MB (%.0f msg/s, %.2f MB/s)\033[K", p->what, (long long)p->count,
            (double)p->bytes / 1e6, (double)p->count / secs, (double)p->bytes / 1e6 / secs);
}

void kfk_progress_end(kfk_progress *p)
{
    if (p->on && p->last_ms != p->start_ms)
        fputs("\r\033[K", stderr);
}
