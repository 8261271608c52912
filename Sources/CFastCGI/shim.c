#define _GNU_SOURCE
#include "CFastCGI.h"
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/socket.h>

int cfastcgi_accept(int listener, struct sockaddr *address, socklen_t *length) {
    return accept4(listener, address, length, SOCK_CLOEXEC);
}

int cfastcgi_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int cfastcgi_epoll_arm(int epoll, int fd, uint64_t data, int registered) {
    struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, .data = {.u64 = data}};
    return epoll_ctl(epoll, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event);
}

int cfastcgi_epoll_remove(int epoll, int fd) { return epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL); }

int cfastcgi_epoll_next(int epoll, uint64_t *data) {
    struct epoll_event ready;
    int count = epoll_wait(epoll, &ready, 1, -1);
    if (count == 1) *data = ready.data.u64;
    return count;
}
