#include "CCurl.h"
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

// curl_multi_socket_action(3) driven by epoll(7): curl tells us which sockets to watch
// (CURLMOPT_SOCKETFUNCTION) and when it next needs a timeout (CURLMOPT_TIMERFUNCTION), and only
// the transfer whose socket is ready is touched. curl_multi_poll would have curl walk every
// transfer on every wake-up, which costs O(transfers) per event with hundreds in flight.

static long long now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *context, void *socket_context) {
    (void)easy;
    (void)socket_context;
    struct ccurl_loop *loop = context;
    if (what == CURL_POLL_REMOVE) {
        // ENOENT or EBADF (curl may have closed the socket already): nothing left to remove.
        epoll_ctl(loop->epoll, EPOLL_CTL_DEL, fd, NULL);
        return 0;
    }
    struct epoll_event event = {.events = 0, .data = {.fd = fd}};
    if (what & CURL_POLL_IN) event.events |= EPOLLIN;
    if (what & CURL_POLL_OUT) event.events |= EPOLLOUT;
    if (epoll_ctl(loop->epoll, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    if (errno == ENOENT && epoll_ctl(loop->epoll, EPOLL_CTL_ADD, fd, &event) == 0) return 0;
    return -1;  // curl fails the transfer (CURLM_ABORTED_BY_CALLBACK)
}

static int on_timer(CURLM *multi, long timeout_ms, void *context) {
    (void)multi;
    struct ccurl_loop *loop = context;
    loop->deadline_ms = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    return 0;
}

int ccurl_loop_init(struct ccurl_loop *loop, CURLM *multi, int max_connections) {
    loop->deadline_ms = -1;
    loop->watched = -1;
    loop->epoll = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epoll < 0) return -1;
    loop->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event event = {.events = EPOLLIN, .data = {.fd = loop->wake}};
    if (loop->wake >= 0 && epoll_ctl(loop->epoll, EPOLL_CTL_ADD, loop->wake, &event) == 0
        && curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket) == CURLM_OK
        && curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, loop) == CURLM_OK
        && curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer) == CURLM_OK
        && curl_multi_setopt(multi, CURLMOPT_TIMERDATA, loop) == CURLM_OK
        && curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)max_connections) == CURLM_OK) {
        return 0;
    }
    int saved = errno;
    if (loop->wake >= 0) close(loop->wake);
    close(loop->epoll);
    errno = saved;
    return -1;
}

void ccurl_loop_wake(struct ccurl_loop *loop) {
    uint64_t one = 1;
    // EAGAIN: the counter is full, so a wake-up is pending anyway.
    ssize_t written = write(loop->wake, &one, sizeof one);
    (void)written;
}

int ccurl_loop_watch(struct ccurl_loop *loop, int fd) {
    struct epoll_event event = {.events = EPOLLIN, .data = {.fd = fd}};
    if (loop->watched >= 0) {
        errno = EBUSY;
        return -1;
    }
    if (epoll_ctl(loop->epoll, EPOLL_CTL_ADD, fd, &event) != 0) return -1;
    loop->watched = fd;
    return 0;
}

int ccurl_loop_run_once(struct ccurl_loop *loop, CURLM *multi, int longest_wait_ms, int *watched_ready) {
    *watched_ready = 0;
    int wait_ms = longest_wait_ms;
    if (loop->deadline_ms >= 0) {
        long long left = loop->deadline_ms - now_ms();
        if (left < wait_ms) wait_ms = left < 0 ? 0 : (int)left;
    }
    struct epoll_event ready[64];
    int count = epoll_wait(loop->epoll, ready, 64, wait_ms);
    if (count < 0 && errno != EINTR) return -1;
    int running = 0;
    for (int index = 0; index < count; index++) {
        int fd = ready[index].data.fd;
        if (fd == loop->wake) {
            uint64_t value;
            ssize_t got = read(loop->wake, &value, sizeof value);
            (void)got;
            continue;
        }
        if (fd == loop->watched) {
            *watched_ready = 1;
            continue;
        }
        int flags = 0;
        if (ready[index].events & EPOLLIN) flags |= CURL_CSELECT_IN;
        if (ready[index].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
        if (ready[index].events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(multi, fd, flags, &running);
    }
    if (loop->deadline_ms >= 0 && now_ms() >= loop->deadline_ms) {
        loop->deadline_ms = -1;
        curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    return 0;
}

