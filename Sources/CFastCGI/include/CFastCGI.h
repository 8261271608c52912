#ifndef CFASTCGI_H
#define CFASTCGI_H
// libfcgi's thread-safe API only (fcgiapp.h, FCGX_*_r); fcgi_stdio.h is not thread-safe.
#include <fcgiapp.h>
#include <sys/socket.h>

/// accept4(2) with SOCK_CLOEXEC in one call (Swift's Glibc module does not declare accept4).
int cfastcgi_accept(int listener, struct sockaddr *address, socklen_t *length);
#endif
