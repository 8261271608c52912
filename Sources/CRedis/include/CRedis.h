#ifndef CREDIS_H
#define CREDIS_H
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdint.h>

// hiredis's asynchronous API driven by an epoll set of our own (adapter.c). That set holds the
// one connection's socket; the set's own descriptor is watched by the curl event loop
// (Sources/CCurl/loop.c), so Redis and eSputnik share one thread and one epoll_wait.
// hiredis 0.14 (Debian 12) has no TLS and no command timeouts: the caller times commands out.

/// One connection's registration in the epoll set. Owned by the caller, freed with
/// credis_events_free after hiredis has cleaned up (`closed` set).
struct credis_events {
    int epoll;
    int fd;
    uint32_t mask;
    redisAsyncContext *context;
    /// Set by hiredis's cleanup hook: the context is being freed and must not be touched.
    int closed;
    /// hiredis has output to write (credis_flush writes it).
    int write_wanted;
};

/// An epoll set for Redis connections; its descriptor, or -1 with errno.
int credis_epoll_create(void);
/// Registers `context`'s socket in `epoll` and installs the event hooks; NULL with errno.
struct credis_events *credis_attach(redisAsyncContext *context, int epoll);
/// Frees a registration whose context hiredis has freed.
void credis_events_free(struct credis_events *events);
/// Writes the commands queued since the last flush, if the socket takes them; else waits for
/// EPOLLOUT. Call before the loop waits.
void credis_flush(struct credis_events *events);
/// Lets hiredis read and write what the set reports ready, without waiting; 0, or -1 with errno.
int credis_dispatch(int epoll);

#endif
