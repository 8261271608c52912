#ifndef CPROCESS_H
#define CPROCESS_H
// prctl(2) is variadic, which Swift cannot call: one typed wrapper per use.

/// PR_SET_DUMPABLE: 0 keeps the process out of core files and away from same-user ptrace.
int cprocess_set_dumpable(int dumpable);

/// PR_SET_PDEATHSIG: the signal this process gets when its parent thread exits.
int cprocess_set_parent_death_signal(int signal);

/// mallopt(M_ARENA_MAX, count): at most `count` glibc malloc arenas; 1 on success, 0 on failure.
int cprocess_limit_malloc_arenas(int count);
#endif
