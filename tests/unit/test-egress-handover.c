/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The hand-over of a listening socket to the proxy, both ends: what the
 * runtime calls (egress_register_agent) against what the proxy runs
 * (egress_receive_registration), over a real SOCK_SEQPACKET socket. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "egress-handover.h"
#include "tap.h"

static char control[108];
static int server_fd;

typedef struct Got {
        int r;
        char name[65], why[256];
        int fd;
        pid_t pid;
} Got;

static void *serve_one(void *p) {
        Got *g = p;
        int c = accept4(server_fd, NULL, NULL, SOCK_CLOEXEC);
        struct pollfd pfd = { .fd = c, .events = POLLIN };

        (void) poll(&pfd, 1, 5000);
        g->r = egress_receive_registration(c, g->name, sizeof g->name, &g->fd, &g->pid, g->why, sizeof g->why);
        if (g->r >= 0)
                (void) egress_answer_registration(c, NULL);
        close(c);
        return NULL;
}

static int round_trip(const char *name, int fd, Got *g, char *why, size_t why_size) {
        pthread_t t;
        *g = (Got) { .fd = -1 };
        pthread_create(&t, NULL, serve_one, g);
        int r = egress_register_agent(control, name, fd, why, why_size);
        pthread_join(t, NULL);
        return r;
}

int main(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char why[256];
        Got g;
        int lfd = -1, r;

        snprintf(control, sizeof control, "/tmp/test-egress-handover-%d.sock", (int) getpid());
        strcpy(sa.sun_path, control);
        server_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        CHECK(bind(server_fd, (struct sockaddr *) &sa, sizeof sa) == 0 && listen(server_fd, 4) == 0);

        /* The listener: on 127.0.0.1 of this namespace (any free port here). */
        r = egress_listen_local(0, &lfd);
        CHECK_MSG(r == 0, "egress_listen_local: %s", strerror(-r));
        if (r == 0) {
                struct sockaddr_in a;
                socklen_t l = sizeof a;
                CHECK(getsockname(lfd, (struct sockaddr *) &a, &l) == 0 && a.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
        }

        r = round_trip("good-agent", lfd, &g, why, sizeof why);
        if (getuid() == 0) {
                CHECK_MSG(r == 0, "registration accepted (%d %s)", r, r < 0 ? why : "");
                CHECK_STREQ(g.name, "good-agent");
                CHECK(g.pid == getpid());
                CHECK(g.fd >= 0 && g.fd != lfd);
                /* the passed fd is the same socket: a client reaches it */
                struct sockaddr_in a;
                socklen_t l = sizeof a;
                getsockname(g.fd, (struct sockaddr *) &a, &l);
                int c = socket(AF_INET, SOCK_STREAM, 0);
                CHECK(connect(c, (struct sockaddr *) &a, sizeof a) == 0);
                int acc = accept(g.fd, NULL, NULL);
                CHECK(acc >= 0);
                close(acc);
                close(c);
                close(g.fd);
        } else {
                CHECK_MSG(r == -EPROTO && strstr(why, "only root"), "non-root is refused: %s", why);
        }

        /* a socket that does not listen is refused, with the reason sent back */
        int notlisten = socket(AF_INET, SOCK_STREAM, 0);
        r = round_trip("other-agent", notlisten, &g, why, sizeof why);
        CHECK(r == -EPROTO);
        CHECK(getuid() != 0 || strstr(why, "not a listening TCP socket") != NULL);
        close(notlisten);

        /* a bad name never leaves the caller */
        CHECK(egress_register_agent(control, "../x", lfd, why, sizeof why) == -EINVAL);
        CHECK(egress_register_agent(control, "", lfd, why, sizeof why) == -EINVAL);

        /* no proxy */
        CHECK(egress_register_agent("/tmp/test-egress-handover-none.sock", "a", lfd, why, sizeof why) == -ENOENT);

        /* the environment an agent gets */
        int n = 0;
        for (const char *const *e = egress_proxy_environment; *e; e++)
                n++;
        CHECK(n == 8);
        CHECK_STREQ(egress_proxy_environment[0], "HTTP_PROXY=http://127.0.0.1:3128");

        close(lfd);
        close(server_fd);
        unlink(control);
        return tap_finish();
}
