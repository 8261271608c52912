/* The FastCGI ceiling for bench/run: the least a multithreaded libfcgi responder can do per
 * request. N threads accept on one socket (no lock around FCGX_Accept_r: docs/PITFALLS.md #1), read
 * each request's input to its end (docs/PITFALLS.md #15) and answer a fixed token with the same
 * headers and body that app-inbox-fcgi sends.
 *
 *   cc -O2 -pthread -o responder responder.c -lfcgi
 *   responder --listen 127.0.0.1:PORT [--threads N] [--flush]
 *
 * Built with -DWITH_CURL (and -lcurl), it also calls curl_global_init at startup: the startup
 * ceiling for a responder that links libcurl, as app-inbox-fcgi does.
 *
 * --flush calls FCGX_FFlush on the output before FCGX_Finish_r, as app-inbox-fcgi does (to learn
 * whether the web server is still there): the answer then leaves in two writes instead of one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcgiapp.h>
#ifdef WITH_CURL
#include <curl/curl.h>
#endif
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Cache-Control: no-store, private\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Content-Length: 40\r\n"
    "\r\n"
    "{\"token\":\"bench-token-0123456789abcdef\"}";

static int listen_fd = -1;
static int flush_before_finish = 0;

static void *worker(void *unused) {
    (void)unused;
    FCGX_Request request;
    char drain[8192];
    FCGX_InitRequest(&request, listen_fd, 0);
    for (;;) {
        if (FCGX_Accept_r(&request) != 0) {
            usleep(10000); /* EMFILE and the like: do not spin */
            continue;
        }
        while (FCGX_GetStr(drain, sizeof drain, request.in) > 0) {
        }
        FCGX_PutStr(answer, (int)(sizeof answer - 1), request.out);
        if (flush_before_finish) FCGX_FFlush(request.out);
        FCGX_Finish_r(&request);
    }
    return NULL;
}

static int bind_tcp(const char *address) {
    char host[64];
    const char *colon = strrchr(address, ':');
    if (colon == NULL || (size_t)(colon - address) >= sizeof host) return -1;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sin.sin_addr) != 1) return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int on = 1;
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 1024) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv) {
    const char *listen_address = NULL;
    int threads = 32;
    signal(SIGPIPE, SIG_IGN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            listen_address = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--flush") == 0) {
            flush_before_finish = 1;
        } else {
            fprintf(stderr, "usage: %s --listen HOST:PORT [--threads N] [--flush]\n", argv[0]);
            return 2;
        }
    }
    if (listen_address == NULL || threads < 1) {
        fprintf(stderr, "usage: %s --listen HOST:PORT [--threads N] [--flush]\n", argv[0]);
        return 2;
    }
    listen_fd = bind_tcp(listen_address);
    if (listen_fd < 0) {
        fprintf(stderr, "responder: cannot listen on %s: %s\n", listen_address, strerror(errno));
        return 2;
    }
#ifdef WITH_CURL
    curl_global_init(CURL_GLOBAL_DEFAULT);
#endif
    if (FCGX_Init() != 0) {
        fprintf(stderr, "responder: FCGX_Init failed\n");
        return 1;
    }
    for (int i = 0; i < threads; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, worker, NULL) != 0) {
            fprintf(stderr, "responder: pthread_create failed\n");
            return 1;
        }
        pthread_detach(thread);
    }
    for (;;) pause(); /* SIGTERM's default action ends the process */
}
