/*
 * What /proc says about the test process (Linux; elsewhere the helpers
 * report "unknown", and the tests that need them skip).
 */
#ifndef KT_PROC_UTIL_H
#define KT_PROC_UTIL_H

/* Threads of this process (entries of /proc/self/task); -1 when /proc is
 * not there. */
int kt_thread_count(void);

#endif
