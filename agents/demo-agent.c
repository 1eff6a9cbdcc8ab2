/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* demo-agent [--interval=SECONDS] [--count=N] [--heartbeats=N] [--exit-status=S]
 *
 * The smallest useful agent: prints a numbered line every interval, appends
 * the same line to /workspace/demo-agent.log when the workspace is writable,
 * and exits 0 on SIGTERM or SIGINT (or after N lines). When $NOTIFY_SOCKET is
 * set it tells the service manager READY=1 once and WATCHDOG=1 on every line,
 * speaking the sd_notify datagram protocol itself: the image has no
 * libsystemd. Built static, so the image needs nothing but this file.
 *
 * For the monitoring tests: --heartbeats=N stops the WATCHDOG=1 messages
 * after N lines (a hung agent), --exit-status=S makes it end with S after
 * --count lines (a crashing agent). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define WORKSPACE_LOG "/workspace/demo-agent.log"

static volatile sig_atomic_t stop_requested;
static bool notify_failed;

static void on_stop(int sig) {
        (void) sig;
        stop_requested = 1;
}

static int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
        unsigned long v;
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0' || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* One datagram to $NOTIFY_SOCKET; "@name" is an abstract socket. A failure
 * is reported once and never fatal: the agent's work does not depend on it
 * (inside systemd-nspawn the socket belongs to the container's root, which an
 * agent running as its own uid cannot write to). */
static void notify(const char *msg) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n;
        int fd;

        if (!e || !*e || notify_failed)
                return;
        n = strlen(e);
        if ((e[0] != '/' && e[0] != '@') || n >= sizeof sa.sun_path)
                return;
        memcpy(sa.sun_path, e, n);
        if (e[0] == '@')
                sa.sun_path[0] = '\0';

        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *) &sa,
                             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
                fprintf(stderr, "demo-agent: cannot notify %s (%m), not trying again\n", e);
                notify_failed = true;
        }
        if (fd >= 0)
                close(fd);
}

static void help(void) {
        printf("demo-agent [--interval=SECONDS] [--count=N] [--heartbeats=N] [--exit-status=S]\n\n"
               "Prints a line every SECONDS (default 5), appends it to " WORKSPACE_LOG "\n"
               "when possible, exits 0 on SIGTERM/SIGINT or after N lines (0: never).\n");
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",     no_argument,       NULL, 'h' },
                { "interval", required_argument, NULL, 'i' },
                { "count",       required_argument, NULL, 'c' },
                { "heartbeats",  required_argument, NULL, 'b' },
                { "exit-status", required_argument, NULL, 'x' },
                {}
        };
        unsigned long interval = 5, count = 0, heartbeats = 0, exit_status = 0;
        bool have_interval = false, have_count = false, have_heartbeats = false, have_exit = false;
        bool workspace_ok = true;
        struct sigaction sa = { .sa_handler = on_stop };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'i':
                        if (have_interval || parse_uint(optarg, 1, 86400, &interval) < 0) {
                                fprintf(stderr, "demo-agent: invalid or repeated --interval=%s (1…86400)\n", optarg);
                                return 2;
                        }
                        have_interval = true;
                        break;
                case 'c':
                        if (have_count || parse_uint(optarg, 0, 1000000000UL, &count) < 0) {
                                fprintf(stderr, "demo-agent: invalid or repeated --count=%s\n", optarg);
                                return 2;
                        }
                        have_count = true;
                        break;
                case 'b':
                        if (have_heartbeats || parse_uint(optarg, 1, 1000000000UL, &heartbeats) < 0) {
                                fprintf(stderr, "demo-agent: invalid or repeated --heartbeats=%s\n", optarg);
                                return 2;
                        }
                        have_heartbeats = true;
                        break;
                case 'x':
                        if (have_exit || parse_uint(optarg, 0, 255, &exit_status) < 0) {
                                fprintf(stderr, "demo-agent: invalid or repeated --exit-status=%s (0…255)\n", optarg);
                                return 2;
                        }
                        have_exit = true;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                fprintf(stderr, "demo-agent: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }

        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
                fprintf(stderr, "demo-agent: cannot handle signals (%m)\n");
                return 1;
        }
        setvbuf(stdout, NULL, _IOLBF, 0);

        printf("demo-agent: started as uid %u, interval %lus\n", (unsigned) getuid(), interval);
        notify("READY=1");

        for (unsigned long n = 1; !stop_requested && (count == 0 || n <= count); n++) {
                struct timespec ts = { .tv_sec = (time_t) interval };
                char line[128];
                int fd;

                snprintf(line, sizeof line, "demo-agent: tick %lu\n", n);
                fputs(line, stdout);
                if (!have_heartbeats || n <= heartbeats)
                        notify("WATCHDOG=1");
                else if (n == heartbeats + 1)
                        printf("demo-agent: no more heartbeats from now on\n");

                if (workspace_ok) {
                        fd = open(WORKSPACE_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
                        if (fd < 0 || write(fd, line, strlen(line)) != (ssize_t) strlen(line)) {
                                /* Say it once, then carry on without. */
                                fprintf(stderr, "demo-agent: " WORKSPACE_LOG " is not writable (%m), not logging there\n");
                                workspace_ok = false;
                        }
                        if (fd >= 0)
                                close(fd);
                }

                if (count != 0 && n == count)
                        break;
                /* A signal ends the sleep early (EINTR); the loop checks. */
                while (!stop_requested && nanosleep(&ts, &ts) < 0 && errno == EINTR)
                        ;
        }

        printf("demo-agent: %s, exiting with status %lu\n", stop_requested ? "asked to stop" : "done",
               stop_requested ? 0UL : exit_status);
        notify("STOPPING=1");
        return stop_requested ? 0 : (int) exit_status;
}
