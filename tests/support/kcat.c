/* Run kcat with captured I/O and a timeout: see kcat.h. */
#include "kcat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#define KT_KCAT_CAP (64u << 20)

static bool is_exec(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

static bool search_path(const char *name, char *out, size_t outsz)
{
    const char *path = getenv("PATH");
    const char *p;

    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (p = path; *p;) {
        size_t l = strcspn(p, ":");
        int n = snprintf(out, outsz, "%.*s/%s", (int)l, p, name);
        if (l > 0 && n > 0 && (size_t)n < outsz && is_exec(out))
            return true;
        p += l;
        if (*p == ':')
            p++;
    }
    return false;
}

/* Resolved once: tests call kt_kcat (and so this) from several threads at
 * once, and rewriting one static buffer on each call was a data race. */
static char kcat_path[4096];
static bool kcat_found;
static pthread_once_t kcat_once = PTHREAD_ONCE_INIT;

static void resolve_kcat_path(void)
{
    const char *env = getenv("KCAT");

    if (env != NULL && *env != '\0') {
        if (strchr(env, '/') != NULL) {
            snprintf(kcat_path, sizeof(kcat_path), "%s", env);
            kcat_found = is_exec(kcat_path);
        } else {
            kcat_found = search_path(env, kcat_path, sizeof(kcat_path));
        }
        return;
    }
    kcat_found = search_path("kcat", kcat_path, sizeof(kcat_path)) ||
                 search_path("kafkacat", kcat_path, sizeof(kcat_path));
}

const char *kt_kcat_path(void)
{
    pthread_once(&kcat_once, resolve_kcat_path);
    return kcat_found ? kcat_path : NULL;
}

/* ------------------------------------------------------------------------ */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

/* Appends, silently dropping what exceeds KT_KCAT_CAP (bounded memory). */
static void buf_add(buf *b, const char *d, size_t n)
{
    if (b->len + n > KT_KCAT_CAP)
        n = KT_KCAT_CAP - b->len;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *np;
        while (cap < b->len + n + 1)
            cap *= 2;
        np = realloc(b->p, cap);
        if (np == NULL)
            return;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_finish(buf *b, char **p, size_t *len)
{
    if (b->p == NULL)
        b->p = calloc(1, 1);
    *p = b->p;
    *len = b->p ? b->len : 0;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void ignore_sigpipe(void)
{
    struct sigaction old;

    if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
}

typedef struct proc {
    pid_t pid;
    int in, out, err; /* parent ends; -1 once closed */
} proc;

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

static int spawn(const char *bin, const char *const args[], proc *pr)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    const char *argv[128];
    size_t n = 0;

    argv[n++] = bin;
    while (args[n - 1] != NULL && n < 127) {
        argv[n] = args[n - 1];
        n++;
    }
    argv[n] = NULL;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        goto fail;
    fflush(NULL);
    pr->pid = fork();
    if (pr->pid < 0)
        goto fail;
    if (pr->pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
            _exit(127);
        /* execv takes char *const[]; the strings are not modified. */
        execv(bin, (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    pr->in = in[1];
    pr->out = out[0];
    pr->err = err[0];
    fcntl(pr->in, F_SETFL, O_NONBLOCK);
    return 0;
fail:
    close_pair(in);
    close_pair(out);
    close_pair(err);
    return -1;
}

/* Feeds stdin and drains stdout/stderr until both close or the deadline. */
static bool pump(proc *pr, const char *data, size_t len, int64_t deadline, buf *o, buf *e)
{
    size_t off = 0;
    char tmp[65536];

    if (len == 0) {
        close(pr->in);
        pr->in = -1;
    }
    while (pr->out >= 0 || pr->err >= 0) {
        struct pollfd p[3] = {{.fd = pr->out, .events = POLLIN},
                              {.fd = pr->err, .events = POLLIN},
                              {.fd = pr->in, .events = POLLOUT}};
        int64_t left = deadline - now_ms();
        int i;

        if (left <= 0)
            return false;
        if (poll(p, 3, (int)left) < 0 && errno != EINTR)
            return false;
        for (i = 0; i < 2; i++) {
            int *fd = i == 0 ? &pr->out : &pr->err;
            ssize_t n;
            if (*fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            n = read(*fd, tmp, sizeof(tmp));
            if (n > 0) {
                buf_add(i == 0 ? o : e, tmp, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(*fd);
                *fd = -1;
            }
        }
        if (pr->in >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(pr->in, data + off, len - off);
            if (n > 0)
                off += (size_t)n;
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || off == len) {
                close(pr->in);
                pr->in = -1;
            }
        }
    }
    return true;
}

/* Reaps the child, killing it if it is still running at the deadline. */
static int reap(pid_t pid, int64_t deadline)
{
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

int kt_kcat(const char *const args[], const char *stdin_data, size_t stdin_len, int timeout_ms,
            kt_kcat_result *res)
{
    const char *bin = kt_kcat_path();
    int64_t deadline = now_ms() + timeout_ms;
    buf o = {0}, e = {0};
    proc pr = {-1, -1, -1, -1};
    bool done;

    memset(res, 0, sizeof(*res));
    res->status = -1;
    if (bin == NULL) {
        buf_str(&e, "kcat not found (set KCAT or install kcat)\n");
    } else if (spawn(bin, args, &pr) != 0) {
        buf_str(&e, "cannot start kcat\n");
    } else {
        ignore_sigpipe();
        done = pump(&pr, stdin_data, stdin_data ? stdin_len : 0, deadline, &o, &e);
        if (pr.in >= 0)
            close(pr.in);
        if (pr.out >= 0)
            close(pr.out);
        if (pr.err >= 0)
            close(pr.err);
        res->status = reap(pr.pid, done ? deadline : now_ms());
        if (!done)
            buf_str(&e, "\nkt_kcat: timed out, killed\n");
    }
    buf_finish(&o, &res->out, &res->out_len);
    buf_finish(&e, &res->err, &res->err_len);
    return res->status;
}

void kt_kcat_result_free(kt_kcat_result *res)
{
    if (res == NULL)
        return;
    free(res->out);
    free(res->err);
    res->out = res->err = NULL;
    res->out_len = res->err_len = 0;
}

int kt_kcat_produce(const char *bootstrap, const char *topic, int partition, const char *codec,
                    const char *data, size_t len, const char *key_delim, kt_kcat_result *res)
{
    char part[16];
    const char *args[20];
    int n = 0;

    snprintf(part, sizeof(part), "%d", partition);
    args[n++] = "-P";
    args[n++] = "-q";
    args[n++] = "-b";
    args[n++] = bootstrap;
    args[n++] = "-t";
    args[n++] = topic;
    args[n++] = "-p";
    args[n++] = part;
    args[n++] = "-z";
    args[n++] = codec != NULL ? codec : "none";
    if (key_delim != NULL) {
        args[n++] = "-K";
        args[n++] = key_delim;
    }
    args[n] = NULL;
    return kt_kcat(args, data, len, 60000, res);
}

int kt_kcat_consume(const char *bootstrap, const char *topic, int partition, int count,
                    const char *format, kt_kcat_result *res)
{
    char part[16], cnt[16];
    const char *args[20];
    int n = 0;

    snprintf(part, sizeof(part), "%d", partition);
    snprintf(cnt, sizeof(cnt), "%d", count);
    args[n++] = "-C";
    args[n++] = "-q";
    args[n++] = "-e";
    args[n++] = "-b";
    args[n++] = bootstrap;
    args[n++] = "-t";
    args[n++] = topic;
    args[n++] = "-p";
    args[n++] = part;
    args[n++] = "-o";
    args[n++] = "beginning";
    args[n++] = "-c";
    args[n++] = cnt;
    args[n++] = "-f";
    args[n++] = format != NULL ? format : "%s\n";
    args[n] = NULL;
    return kt_kcat(args, NULL, 0, 60000, res);
}
