#include "CCurl.h"
#include <pthread.h>

// libcurl calls these around every access to shared data; one mutex per data type
// lets a DNS lookup and a TLS session lookup proceed at the same time.
static pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *context) {
    (void)handle; (void)access; (void)context;
    pthread_mutex_lock(&share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *context) {
    (void)handle; (void)context;
    pthread_mutex_unlock(&share_locks[data]);
}

CURLSH *ccurl_share_create(void) {
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        pthread_mutex_init(&share_locks[i], NULL);
    }
    CURLSH *share = curl_share_init();
    if (share == NULL) {
        return NULL;
    }
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    return share;
}
