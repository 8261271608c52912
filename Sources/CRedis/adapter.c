#include "CRedis.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

// The event hooks hiredis calls (async.h: "these functions should be idempotent"): each keeps
// the wanted events in `mask` and tells epoll only when they change. A wish to write is only
// noted: credis_flush, before the loop next waits, writes every command queued in that turn at
// once, and only a write the socket could not take whole waits for EPOLLOUT. A request's command
// thus costs no epoll_ctl and no extra turn of the loop.

static void update(struct credis_events *events, uint32_t mask) {
    if (events->closed || mask == events->mask) return;
    struct epoll_event event = {.events = mask, .data = {.ptr = events}};
    int operation = events->mask == 0 ? EPOLL_CTL_ADD : (mask == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD);
    if (epoll_ctl(events->epoll, operation, events->fd, &event) == 0) {
        events->mask = mask;
    } else {
        // Only ENOMEM or a closed descriptor can fail here; the command's timeout then ends
        // the connection (Sources/AppInbox/Fleet/RedisClient.swift).
        events->mask = mask == 0 ? 0 : events->mask;
    }
}

static void add_read(void *data) {
    struct credis_events *events = data;
    update(events, events->mask | EPOLLIN);
}
static void del_read(void *data) {
    struct credis_events *events = data;
    update(events, events->mask & ~(uint32_t)EPOLLIN);
}
static void add_write(void *data) {
    struct credis_events *events = data;
    events->write_wanted = 1;
}
static void del_write(void *data) {
    struct credis_events *events = data;
    events->write_wanted = 0;
    update(events, events->mask & ~(uint32_t)EPOLLOUT);
}
static void cleanup(void *data) {
    struct credis_events *events = data;
    update(events, 0);
    events->closed = 1;
    events->context = NULL;
}

int credis_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

struct credis_events *credis_attach(redisAsyncContext *context, int epoll) {
    if (context->ev.data != NULL) {
        errno = EEXIST;
        return NULL;
    }
    struct credis_events *events = calloc(1, sizeof *events);
    if (events == NULL) return NULL;
    events->epoll = epoll;
    events->fd = context->c.fd;
    events->context = context;
    context->ev.addRead = add_read;
    context->ev.delRead = del_read;
    context->ev.addWrite = add_write;
    context->ev.delWrite = del_write;
    context->ev.cleanup = cleanup;
    context->ev.data = events;
    return events;
}

void credis_events_free(struct credis_events *events) {
    free(events);
}

void credis_flush(struct credis_events *events) {
    if (events->closed || !events->write_wanted) return;
    // Not yet connected, hiredis finishes the connect first (or learns it is still under way).
    redisAsyncHandleWrite(events->context);
    if (!events->closed && events->write_wanted) update(events, events->mask | EPOLLOUT);
}

int credis_dispatch(int epoll) {
    struct epoll_event ready[8];
    int count = epoll_wait(epoll, ready, 8, 0);
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (int index = 0; index < count; index++) {
        struct credis_events *events = ready[index].data.ptr;
        // Reading may free the context (an error or a disconnect): check before writing.
        if (!events->closed && (ready[index].events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
            redisAsyncHandleRead(events->context);
        if (!events->closed && (ready[index].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            redisAsyncHandleWrite(events->context);
    }
    return 0;
}
