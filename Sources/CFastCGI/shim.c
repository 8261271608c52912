#define _GNU_SOURCE
#include "CFastCGI.h"
#include <sys/socket.h>

int cfastcgi_accept(int listener, struct sockaddr *address, socklen_t *length) {
    return accept4(listener, address, length, SOCK_CLOEXEC);
}
