#ifndef CPROCESS_H
#define CPROCESS_H
// prctl(2) is variadic, which Swift cannot call: one typed wrapper per use.

/// PR_SET_DUMPABLE: 0 keeps the process out of core files and away from same-user ptrace.
int cprocess_set_dumpable(int dumpable);

/// PR_SET_PDEATHSIG: the signal this process gets when its parent thread exits.
int cprocess_set_parent_death_signal(int signal);

#endif
