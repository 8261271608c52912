#include <malloc.h>
#include "CProcess.h"
#include <sys/prctl.h>

int cprocess_set_dumpable(int dumpable) {
    return prctl(PR_SET_DUMPABLE, (unsigned long)dumpable, 0UL, 0UL, 0UL);
}

int cprocess_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0UL, 0UL, 0UL);
}

int cprocess_limit_malloc_arenas(int count) { return mallopt(M_ARENA_MAX, count); }
