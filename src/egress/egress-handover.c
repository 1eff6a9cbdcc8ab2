/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "egress-handover.h"
#include "macro.h"
#include "parse-value.h"

#define WHY(...) (void) snprintf(why, why_size, __VA_ARGS__)
#define MSG_MAX 128

const char *const egress_proxy_environment[] = {
        "HTTP_PROXY=" EGRESS_PROXY_URL,  "HTTPS_PROXY=" EGRESS_PROXY_URL, "ALL_PROXY=" EGRESS_PROXY_URL,
        "http_proxy=" EGRESS_PROXY_URL,  "https_proxy=" EGRESS_PROXY_URL, "all_proxy=" EGRESS_PROXY_URL,
        "NO_PROXY=localhost,127.0.0.1",  "no_proxy=localhost,127.0.0.1",  NULL,
};

static int loopback_up(void) {
        _cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { .ifr_name = "lo" };

        if (fd < 0)
                return negative_errno();
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
                return negative_errno();
        if (ifr.ifr_flags & IFF_UP)
                return 0;
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
                return negative_errno();
        return 0;
}

int egress_listen_local(uint16_t port, int *ret_fd) {
        struct sockaddr_in sa = {
                .sin_family = AF_INET,
                .sin_port = htons(port),
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        int one = 1, r;

        r = loopback_up();
        if (r < 0)
                return r;
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 128) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int egress_register_agent(const char *control_path, const char *name, int listen_fd, char *why, size_t why_size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char msg[MSG_MAX], answer[256];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        struct pollfd pfd;
        ssize_t k;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        control_path = control_path ? control_path : EGRESS_CONTROL_SOCKET;
        if (strlen(control_path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, control_path);

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return negative_errno();

        (void) snprintf(msg, sizeof msg, "v1 %s", name);
        iov = (struct iovec) { msg, strlen(msg) };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &listen_fd, sizeof(int));
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
                return negative_errno();

        pfd = (struct pollfd) { .fd = fd, .events = POLLIN };
        if (poll(&pfd, 1, 5000) <= 0)
                return -ETIMEDOUT;
        k = recv(fd, answer, sizeof answer - 1, 0);
        if (k < 0)
                return negative_errno();
        answer[k] = '\0';
        if (streq(answer, "ok"))
                return 0;
        WHY("%s", k == 0 ? "the proxy closed the connection" : answer);
        return -EPROTO;
}

/* The one fd of an SCM_RIGHTS message; more than one is refused (and closed). */
static int take_fd(struct msghdr *mh, int *ret_fd) {
        int fd = -EBADF, n = 0;

        for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < nfd; i++) {
                        int x;
                        memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                        if (n++ == 0)
                                fd = x;
                        else
                                (void) close(x);
                }
        }
        if (n != 1) {
                if (fd >= 0)
                        (void) close(fd);
                return -EBADMSG;
        }
        *ret_fd = fd;
        return 0;
}

static int check_listener(int fd) {
        int v;
        socklen_t l = sizeof v;

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0 || (v != AF_INET && v != AF_INET6))
                return -EPROTOTYPE;
        l = sizeof v;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0 || v != SOCK_STREAM)
                return -EPROTOTYPE;
        l = sizeof v;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 || !v)
                return -EPROTOTYPE;
        return 0;
}

int egress_receive_registration(int conn_fd, char *name, size_t name_size, int *ret_fd, pid_t *ret_pid,
                                char *why, size_t why_size) {
        char msg[MSG_MAX + 1];
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(4 * sizeof(int))];
        } control = {};
        struct iovec iov = { msg, MSG_MAX };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof control };
        struct ucred cred;
        socklen_t cl = sizeof cred;
        _cleanup_close_ int fd = -EBADF;
        ssize_t k;
        int r;

        k = recvmsg(conn_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (k < 0)
                return negative_errno();
        if (getsockopt(conn_fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
                return negative_errno();
        r = take_fd(&mh, &fd);
        if (cred.uid != 0) {
                WHY("only root may register agents");
                r = -EPERM;
        } else if (r < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
                WHY("expected one message with exactly one file descriptor");
                r = -EBADMSG;
        } else if ((msg[k] = '\0', strncmp(msg, "v1 ", 3) != 0) || !agent_name_is_valid(msg + 3) ||
                   strlen(msg + 3) >= name_size) {
                WHY("expected 'v1 NAME' with a valid agent name");
                r = -EINVAL;
        } else if (check_listener(fd) < 0) {
                WHY("the file descriptor is not a listening TCP socket");
                r = -EPROTOTYPE;
        }
        if (r < 0) {
                (void) egress_answer_registration(conn_fd, why);
                return r;
        }
        strcpy(name, msg + 3);
        *ret_fd = TAKE_FD(fd);
        *ret_pid = cred.pid;
        return 0;
}

int egress_answer_registration(int conn_fd, const char *why) {
        char buf[300];

        (void) snprintf(buf, sizeof buf, "%s%s", why ? "error: " : "ok", strempty(why));
        if (send(conn_fd, buf, strlen(buf), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
                return negative_errno();
        return 0;
}
