/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egress-relay.h"
#include "macro.h"

#define PIPE_SIZE (1024 * 1024)

typedef struct Direction {
        int src, dst;
        int pipe[2];
        size_t in_pipe;
        uint64_t remaining, moved;
        size_t pipe_size;
        bool eof, done;
} Direction;

int egress_write_all(int fd, const void *buf, size_t len, int timeout_msec) {
        const char *p = buf;

        while (len > 0) {
                ssize_t k = send(fd, p, len, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        struct pollfd pfd = { .fd = fd, .events = POLLOUT };
                        int r = poll(&pfd, 1, timeout_msec);
                        if (r == 0)
                                return -ETIMEDOUT;
                        if (r < 0 && errno != EINTR)
                                return negative_errno();
                        continue;
                }
                if (k < 0)
                        return negative_errno();
                p += k;
                len -= (size_t) k;
        }
        return 0;
}

static int direction_init(Direction *d, int src, int dst, uint64_t limit) {
        *d = (Direction) { .src = src, .dst = dst, .remaining = limit, .pipe = { -EBADF, -EBADF } };
        if (pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
                return negative_errno();
        d->pipe_size = 64 * 1024; /* grown once a transfer turns out large */
        return 0;
}

static void direction_done(Direction *d) {
        for (int i = 0; i < 2; i++)
                if (d->pipe[i] >= 0)
                        (void) close(d->pipe[i]);
}

/* One step of a direction. Returns 0, or a negative errno that ends the relay. */
static int direction_step(Direction *d, short src_events, short dst_events, bool tunnel) {
        if (d->pipe_size < PIPE_SIZE && d->moved >= 4 * d->pipe_size) {
                int n = fcntl(d->pipe[1], F_SETPIPE_SZ, PIPE_SIZE);
                d->pipe_size = n > 0 ? (size_t) n : PIPE_SIZE; /* on failure: stop trying */
        }
        if (src_events && !d->eof && d->in_pipe == 0 && d->remaining > 0) {
                ssize_t k = splice(d->src, NULL, d->pipe[1], NULL, (size_t) MIN(d->remaining, (uint64_t) d->pipe_size),
                                   SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (k == 0)
                        d->eof = true;
                else if (k > 0) {
                        d->in_pipe = (size_t) k;
                        d->remaining -= (uint64_t) k;
                } else if (errno != EAGAIN && errno != EINTR)
                        return negative_errno();
        }
        if (d->in_pipe > 0 && (dst_events || src_events)) {
                ssize_t k = splice(d->pipe[0], NULL, d->dst, NULL, d->in_pipe, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                if (k > 0) {
                        d->in_pipe -= (size_t) k;
                        d->moved += (uint64_t) k;
                } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                        return negative_errno();
        }
        if (!d->done && d->in_pipe == 0 && (d->eof || d->remaining == 0)) {
                d->done = true;
                if (tunnel && d->eof)
                        (void) shutdown(d->dst, SHUT_WR);
        }
        return 0;
}

/* Non-blocking, and no Nagle delay: what arrives is passed on at once. */
static void set_relay_mode(int fd) {
        int fl = fcntl(fd, F_GETFL), one = 1;
        if (fl >= 0)
                (void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int egress_relay(int client, int upstream, uint64_t up_limit, bool tunnel, int idle_msec, uint64_t *ret_up,
                 uint64_t *ret_down) {
        Direction d[2];
        int r;

        set_relay_mode(client);
        set_relay_mode(upstream);
        r = direction_init(&d[0], client, upstream, up_limit);
        if (r < 0)
                return r;
        r = direction_init(&d[1], upstream, client, UINT64_MAX);
        if (r < 0) {
                direction_done(&d[0]);
                return r;
        }
        while (tunnel ? !(d[0].done && d[1].done) : !d[1].done) {
                struct pollfd p[2] = { { .fd = client }, { .fd = upstream } };

                for (int i = 0; i < 2; i++) {
                        Direction *x = &d[i];
                        if (x->done)
                                continue;
                        if (x->in_pipe == 0)
                                p[i].events |= POLLIN; /* p[i].fd == x->src */
                        else
                                p[1 - i].events |= POLLOUT; /* the other fd is x->dst */
                }
                /* poll() reports POLLHUP even for no events: an fd nobody
                 * waits on is left out, or a hung-up peer would spin. */
                for (int i = 0; i < 2; i++)
                        if (p[i].events == 0)
                                p[i].fd = -1;
                int n = poll(p, 2, idle_msec);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = negative_errno();
                        break;
                }
                if (n == 0) {
                        r = -ETIMEDOUT;
                        break;
                }
                for (int i = 0; i < 2 && r >= 0; i++) {
                        short in = p[i].revents & (POLLIN | POLLHUP | POLLERR);
                        short out = p[1 - i].revents & (POLLOUT | POLLERR | POLLHUP);
                        /* Keep moving while both ends are ready: a poll per
                         * pipe-full is what costs on a fast link. */
                        for (int spin = 0; spin < 16 && r >= 0 && !d[i].done; spin++) {
                                uint64_t before = d[i].moved;
                                size_t held = d[i].in_pipe;
                                r = direction_step(&d[i], in, out, tunnel);
                                if (d[i].moved == before && d[i].in_pipe == held)
                                        break;
                                in = out = 1;
                        }
                }
                if (r < 0)
                        break;
        }
        *ret_up = d[0].moved;
        *ret_down = d[1].moved;
        direction_done(&d[0]);
        direction_done(&d[1]);
        return r;
}
