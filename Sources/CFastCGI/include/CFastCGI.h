#ifndef CFASTCGI_H
#define CFASTCGI_H
// libfcgi's thread-safe API only (fcgiapp.h, FCGX_*_r); fcgi_stdio.h is not thread-safe.
#include <fcgiapp.h>
#include <stdint.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_CLOEXEC in one call (Swift's Glibc module does not declare accept4).
int cfastcgi_accept(int listener, struct sockaddr *address, socklen_t *length);

// epoll(7) through plain integers: `struct epoll_event` is packed on x86-64, a layout best
// left to the C compiler.

/// epoll_create1(EPOLL_CLOEXEC).
int cfastcgi_epoll_create(void);
/// Arms `fd` for one report of readability (or hang-up) carrying `data`: EPOLL_CTL_MOD when
/// `registered`, EPOLL_CTL_ADD otherwise; EPOLLONESHOT either way. Returns epoll_ctl's result.
int cfastcgi_epoll_arm(int epoll, int fd, uint64_t data, int registered);
/// EPOLL_CTL_DEL.
int cfastcgi_epoll_remove(int epoll, int fd);
/// Waits (without a timeout) for one readiness report and stores its user data; returns
/// epoll_wait(2)'s count: 1, or -1 with errno set.
int cfastcgi_epoll_next(int epoll, uint64_t *data);
#endif
