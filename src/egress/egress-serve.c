/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "egress-address.h"
#include "egress-proxy.h"
#include "egress-relay.h"
#include "http-request.h"
#include "macro.h"

EgressOptions egress_options = {
        .connect_timeout_msec = 10000,
        .idle_timeout_msec = 300000,
        .head_timeout_msec = 30000,
};

typedef struct Conn {
        EgressAgent *agent;
        int fd;
        char head[HTTP_HEAD_MAX];
        size_t len;
        HttpRequest req;
        EgressDecision d;
        char rule[EGRESS_RULE_MAX];
        char address[INET6_ADDRSTRLEN];
        uint64_t start;
} Conn;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Reads until the head is complete or refused. */
static int read_head(Conn *c, const char **ret_rule) {
        uint64_t deadline = now_usec() + (uint64_t) egress_options.head_timeout_msec * 1000;

        for (;;) {
                int r = http_request_parse(c->head, c->len, &c->req, ret_rule);
                if (r != -EAGAIN)
                        return r;
                uint64_t now = now_usec();
                if (now >= deadline) {
                        *ret_rule = "request head not complete in time";
                        return -ETIMEDOUT;
                }
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                if (poll(&p, 1, (int) ((deadline - now) / 1000) + 1) < 0 && errno != EINTR)
                        return negative_errno();
                ssize_t k = recv(c->fd, c->head + c->len, sizeof c->head - c->len, MSG_DONTWAIT);
                if (k < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (k <= 0) {
                        *ret_rule = "connection closed before the request head was complete";
                        return k < 0 ? negative_errno() : -ECONNRESET;
                }
                c->len += (size_t) k;
        }
}

static void reply(Conn *c, int code, const char *reason) {
        char buf[1024];
        char body[EGRESS_RULE_MAX + 64];
        int bl = snprintf(body, sizeof body, "agentcage egress: %s %s:%u refused by %s\n",
                          c->d.method, c->d.host, (unsigned) c->d.port, c->rule);
        int n = snprintf(buf, sizeof buf,
                         "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                         "X-Agentcage-Egress-Rule: %s\r\nConnection: close\r\n\r\n%s",
                         code, reason, bl, c->rule, body);
        (void) egress_write_all(c->fd, buf, (size_t) MIN(n, (int) sizeof buf - 1), 5000);
}

/* Resolves the name once and connects to one of exactly the addresses that
 * were checked. Any forbidden address refuses the name. */
static int resolve_and_connect(Conn *c, int *ret_fd, int *ret_code) {
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_protocol = IPPROTO_TCP };
        struct addrinfo *res = NULL;
        int r, e = -EHOSTUNREACH;

        r = getaddrinfo(c->req.host, NULL, &hints, &res);
        if (r != 0) {
                (void) snprintf(c->rule, sizeof c->rule, "resolver (%s)", gai_strerror(r));
                *ret_code = 502;
                return -EHOSTUNREACH;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                const char *why = egress_address_forbidden(ai->ai_addr);
                if (!why)
                        continue;
                char a[INET6_ADDRSTRLEN] = "?";
                const void *p = ai->ai_family == AF_INET ? (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr
                                                         : (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
                (void) inet_ntop(ai->ai_family, p, a, sizeof a);
                (void) snprintf(c->rule, sizeof c->rule, "address %s is %s", a, why);
                freeaddrinfo(res);
                *ret_code = 403;
                return -EPERM;
        }
        for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
                if (ai->ai_family == AF_INET)
                        ((struct sockaddr_in *) ai->ai_addr)->sin_port = htons(c->req.port);
                else
                        ((struct sockaddr_in6 *) ai->ai_addr)->sin6_port = htons(c->req.port);
                int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0)
                        continue;
                if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno == EINPROGRESS) {
                        struct pollfd p = { .fd = fd, .events = POLLOUT };
                        int err = ETIMEDOUT;
                        socklen_t l = sizeof err;
                        if (poll(&p, 1, egress_options.connect_timeout_msec) == 1)
                                (void) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l);
                        errno = err;
                } else
                        errno = 0;
                if (errno == 0) {
                        int one = 1;
                        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        const void *p = ai->ai_family == AF_INET ? (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr
                                                                 : (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr;
                        (void) inet_ntop(ai->ai_family, p, c->address, sizeof c->address);
                        freeaddrinfo(res);
                        *ret_fd = fd;
                        return 0;
                }
                e = -errno;
                (void) close(fd);
        }
        freeaddrinfo(res);
        (void) snprintf(c->rule, sizeof c->rule, "upstream connect (%s)", strerror(-e));
        *ret_code = 502;
        return e;
}

/* The origin-form request the upstream gets: hop-by-hop headers dropped,
 * one request per connection. */
static int forward_head(Conn *c, int up) {
        char out[HTTP_HEAD_MAX + 256];
        size_t n = 0;
        const HttpRequest *q = &c->req;
        const char *path = q->path.len ? c->head + q->path.offset : "/";
        size_t pl = q->path.len ? q->path.len : 1;
        bool query_only = q->path.len && path[0] == '?';

        n += (size_t) snprintf(out, sizeof out, "%s %s", q->method, query_only ? "/" : "");
        memcpy(out + n, path, pl);
        n += pl;
        n += (size_t) snprintf(out + n, sizeof out - n, " HTTP/1.%d\r\n", q->minor_version);
        for (size_t i = 0; i < q->n_headers; i++) {
                const char *l = c->head + q->headers[i].offset;
                if (http_header_is_hop_by_hop(l, q->headers[i].len))
                        continue;
                memcpy(out + n, l, q->headers[i].len);
                n += q->headers[i].len;
                memcpy(out + n, "\r\n", 2);
                n += 2;
        }
        memcpy(out + n, "Connection: close\r\n\r\n", 21);
        n += 21;
        c->d.bytes_up = n;
        return egress_write_all(up, out, n, egress_options.idle_timeout_msec);
}

static int run_allowed(Conn *c, int up) {
        size_t extra = c->len - c->req.head_len;
        const char *body = c->head + c->req.head_len;
        uint64_t limit = UINT64_MAX;
        int r;

        if (c->req.is_connect) {
                static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
                r = egress_write_all(c->fd, ok, sizeof ok - 1, 5000);
        } else {
                uint64_t cl = c->req.content_length > 0 ? (uint64_t) c->req.content_length : 0;
                extra = (size_t) MIN((uint64_t) extra, cl);
                limit = cl - extra;
                r = forward_head(c, up);
        }
        if (r >= 0 && extra > 0)
                r = egress_write_all(up, body, extra, egress_options.idle_timeout_msec);
        if (r < 0)
                return r;
        c->d.bytes_up += extra;
        uint64_t u = 0, dn = 0;
        r = egress_relay(c->fd, up, limit, c->req.is_connect, egress_options.idle_timeout_msec, &u, &dn);
        c->d.bytes_up += u;
        c->d.bytes_down = dn;
        return r;
}

static void judge_and_run(Conn *c) {
        _cleanup_free_ EgressPolicy *policy = malloc(sizeof *policy);
        _cleanup_close_ int up = -EBADF;
        char why[320];
        int code = 403;

        c->d.host = c->req.host;
        c->d.port = c->req.port;
        c->d.method = c->req.method;
        if (!policy)
                return;
        if (egress_host_check(c->req.host) == -EADDRNOTAVAIL)
                (void) snprintf(c->rule, sizeof c->rule, "IP literal (only host names are allowed)");
        else if (egress_host_check(c->req.host) < 0) {
                (void) snprintf(c->rule, sizeof c->rule, "host name syntax");
                code = 400;
        } else if (egress_agent_policy(c->agent, policy, why, sizeof why) < 0)
                (void) snprintf(c->rule, sizeof c->rule, "no egress policy (%.250s)", why);
        else if (egress_policy_judge(policy, c->req.host, c->req.port, c->req.method, c->req.is_connect, c->rule,
                                     sizeof c->rule) &&
                 resolve_and_connect(c, &up, &code) >= 0) {
                c->d.allowed = true;
                c->d.address = c->address;
                (void) run_allowed(c, up);
                return;
        }
        reply(c, code, code == 403 ? "Forbidden" : code == 400 ? "Bad Request" : "Bad Gateway");
}

void egress_serve(EgressAgent *a, int fd) {
        _cleanup_free_ Conn *c = calloc(1, sizeof *c);
        const char *bad = NULL;

        if (!c) {
                (void) close(fd);
                egress_agent_unref(a);
                return;
        }
        *c = (Conn) { .agent = a, .fd = fd, .start = now_usec() };
        c->d = (EgressDecision) { .agent = a->name, .host = "-", .method = "-", .rule = c->rule };
        int r = read_head(c, &bad);
        if (r == -ECONNRESET && c->len == 0) {
                /* connected and closed without a byte: no request, no decision */
                (void) close(fd);
                egress_agent_unref(a);
                return;
        }
        if (r == -EBADMSG || r == -E2BIG) {
                (void) snprintf(c->rule, sizeof c->rule, "request syntax: %s", bad);
                reply(c, 400, "Bad Request");
        } else if (r < 0)
                (void) snprintf(c->rule, sizeof c->rule, "%s", bad ? bad : "read error");
        else
                judge_and_run(c);
        c->d.duration_usec = now_usec() - c->start;
        /* The agent's end first: it reads until EOF, and the record (a send
         * to journald, which may block while journald is busy) is ours. */
        (void) close(fd);
        egress_log_decision(&c->d);
        egress_agent_account(a, &c->d);
        egress_agent_unref(a);
}
