/* Asymmetric fences over membarrier(2) (membarrier.h). */
#include "common/membarrier.h"

#include "common/tsan.h"

#if defined(__linux__) && !KAFKA_TSAN
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__linux__) && !KAFKA_TSAN && defined(SYS_membarrier)
#define KAFKA_HAVE_MEMBARRIER 1
#else
#define KAFKA_HAVE_MEMBARRIER 0
#endif

bool kafka_membarrier_register(void)
{
#if KAFKA_HAVE_MEMBARRIER
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
    if (cmds < 0 || !(cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return false;
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return false;
#endif
}

bool kafka_membarrier_heavy(void)
{
#if KAFKA_HAVE_MEMBARRIER
    return syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
#else
    return false;
#endif
}
