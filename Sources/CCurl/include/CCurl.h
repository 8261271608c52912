#ifndef CCURL_H
#define CCURL_H
#include <curl/curl.h>

// curl_easy_setopt / curl_easy_getinfo are variadic, which Swift cannot call:
// one typed wrapper per argument type that we use.

typedef size_t (*ccurl_write_callback)(char *data, size_t size, size_t count, void *context);

// CURLVERSION_NOW is a macro naming an enum constant, which Swift does not import.
static inline const curl_version_info_data *ccurl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}

static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode ccurl_setopt_share(CURL *handle, CURLSH *share) {
    return curl_easy_setopt(handle, CURLOPT_SHARE, share);
}

static inline CURLcode ccurl_setopt_write_callback(CURL *handle, ccurl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

static inline CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode ccurl_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}


/// The next finished transfer of `multi`: its easy handle and result; 0 when none is left.
static inline int ccurl_multi_next_done(CURLM *multi, CURL **handle, CURLcode *result) {
    int left = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &left)) != NULL) {
        if (message->msg == CURLMSG_DONE) {
            *handle = message->easy_handle;
            *result = message->data.result;
            return 1;
        }
    }
    return 0;
}

/// The epoll instance that drives a multi handle with curl_multi_socket_action (loop.c).
struct ccurl_loop {
    int epoll;
    /// An eventfd: another thread's write wakes the loop.
    int wake;
    /// When curl next wants CURL_SOCKET_TIMEOUT, in CLOCK_MONOTONIC milliseconds; -1 for never.
    long long deadline_ms;
    /// One more descriptor the loop waits on for its owner (ccurl_loop_watch); -1 for none.
    int watched;
};

/// Creates the epoll instance and the wake-up eventfd, installs the socket and timer callbacks
/// on `multi`, and lets it keep up to `max_connections` idle connections; 0, or -1.
int ccurl_loop_init(struct ccurl_loop *loop, CURLM *multi, int max_connections);
/// Wakes a loop waiting in ccurl_loop_run_once; callable from any thread.
void ccurl_loop_wake(struct ccurl_loop *loop);
/// Adds `fd` (readable) to what the loop waits on, for a descriptor that is not curl's: the
/// epoll set of the Redis connection (Sources/CRedis); 0, or -1 with errno. One at most.
int ccurl_loop_watch(struct ccurl_loop *loop, int fd);
/// Waits up to `longest_wait_ms` (less when curl's timer is due sooner) and lets curl act on the
/// sockets that are ready and on its timer; sets `watched_ready` when the watched descriptor is
/// readable, for the caller to act on. 0, or -1 when epoll_wait fails.
int ccurl_loop_run_once(struct ccurl_loop *loop, CURLM *multi, int longest_wait_ms, int *watched_ready);

/// A share handle for DNS and TLS sessions, with one mutex per shared data type.
/// Connections are deliberately not shared: sharing them across concurrently
/// running threads is unsupported by libcurl.
CURLSH *ccurl_share_create(void);

#endif
