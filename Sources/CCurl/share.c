#include "CCurl.h"
#include <pthread.h>
#include <stdlib.h>

// libcurl calls these around every access to shared data; one mutex per data type lets a DNS
// lookup and a TLS session lookup proceed at the same time. The mutexes belong to the share
// (CURLSHOPT_USERDATA), so a second share never re-initialises the locks of one in use.
struct share_locks {
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *context) {
    (void)handle; (void)access;
    pthread_mutex_lock(&((struct share_locks *)context)->locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *context) {
    (void)handle;
    pthread_mutex_unlock(&((struct share_locks *)context)->locks[data]);
}

CURLSH *ccurl_share_create(void) {
    // Lives as long as the process: the share is created once and never cleaned up.
    struct share_locks *locks = calloc(1, sizeof(*locks));
    if (locks == NULL) {
        return NULL;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        if (pthread_mutex_init(&locks->locks[i], NULL) != 0) {
            free(locks);
            return NULL;
        }
    }
    CURLSH *share = curl_share_init();
    // A share whose lock functions were refused would be used by every worker unlocked: every
    // option must take, or there is no share.
    if (share == NULL || curl_share_setopt(share, CURLSHOPT_USERDATA, locks) != CURLSHE_OK
        || curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK
        || curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK
        || curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK
        || curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        if (share != NULL) {
            curl_share_cleanup(share);
        }
        free(locks);
        return NULL;
    }
    return share;
}
