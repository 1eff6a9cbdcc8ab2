/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentcage-egress: the one host-side egress proxy for every agent.
 *
 *         agentcage-egress [--control=PATH] [--policy-dir=DIR] [--state-dir=DIR] [--log=journal|stderr]
 *         agentcage-egress hand-over [--control=PATH] [--port=N] NAME [-- COMMAND…]
 *
 * The daemon listens on a root-only SOCK_SEQPACKET control socket (socket
 * activation, or --control=). An agent's start hands it a listening socket
 * made inside the agent's network namespace (egress-handover.h); each
 * accepted connection is served in its own thread (the name lookup blocks),
 * while sd-event runs the control socket, the listeners and the pidfds that
 * tell when an agent is gone. "hand-over" does what an agent's start does, in
 * the current network namespace, then runs COMMAND (or waits): for tests and
 * for operators who wire a namespace by hand. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "egress-handover.h"
#include "egress-log.h"
#include "egress-proxy.h"
#include "log.h"
#include "macro.h"
#include "parse-value.h"

#define CONNECTIONS_PER_AGENT_MAX 256

static const char *arg_control = NULL;
static const char *arg_policy_dir = EGRESS_POLICY_DIR;
static const char *arg_state_dir = EGRESS_STATE_DIR;
static uint16_t arg_port = EGRESS_PROXY_PORT;

static EgressAgent *agents[1024];
static size_t n_agents;

static void agent_drop(size_t i) {
        EgressAgent *a = agents[i];

        log_info("Agent %s: gone, its egress listener is closed.", a->name);
        egress_agent_flush_state(a);
        a->listen_source = sd_event_source_disable_unref(a->listen_source);
        a->pid_source = sd_event_source_disable_unref(a->pid_source);
        (void) close(a->listen_fd);
        (void) close(a->pidfd);
        /* Connection threads keep their own reference. */
        agents[i] = agents[--n_agents];
        egress_agent_unref(a);
}

typedef struct ConnStart {
        EgressAgent *agent;
        int fd;
} ConnStart;

/* Workers that finished a connection wait a while for the next one instead
 * of exiting: no thread start and no new resolver state per request. At
 * most IDLE_WORKERS_MAX wait; a connection with none waiting gets a new one. */
#define IDLE_WORKERS_MAX 16
#define IDLE_WORKER_SEC 30

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static ConnStart pool_queue[IDLE_WORKERS_MAX];
static size_t pool_queued, pool_idle;

static void *serve_thread(void *p) {
        ConnStart cs = *(ConnStart *) p;
        free(p);
        for (;;) {
                egress_serve(cs.agent, cs.fd);

                struct timespec deadline;
                bool got = false;
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_sec += IDLE_WORKER_SEC;
                pthread_mutex_lock(&pool_lock);
                if (pool_idle < IDLE_WORKERS_MAX) {
                        pool_idle++;
                        while (pool_queued == 0)
                                if (pthread_cond_timedwait(&pool_cond, &pool_lock, &deadline) != 0)
                                        break;
                        if (pool_queued > 0) {
                                cs = pool_queue[--pool_queued];
                                got = true;
                        }
                        pool_idle--;
                }
                pthread_mutex_unlock(&pool_lock);
                if (!got)
                        return NULL;
        }
}

/* Hands the connection to a waiting worker. Returns false if none waits. */
static bool pool_hand(ConnStart cs) {
        bool ok = false;

        pthread_mutex_lock(&pool_lock);
        if (pool_idle > pool_queued) {
                pool_queue[pool_queued++] = cs;
                pthread_cond_signal(&pool_cond);
                ok = true;
        }
        pthread_mutex_unlock(&pool_lock);
        return ok;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EgressAgent *a = userdata;
        pthread_attr_t attr;

        for (int budget = 0; budget < 64; budget++) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0)
                        break;
                if (__atomic_load_n(&a->refs, __ATOMIC_RELAXED) > CONNECTIONS_PER_AGENT_MAX) {
                        log_warning("Agent %s: more than %d egress connections, refusing one.", a->name,
                                    CONNECTIONS_PER_AGENT_MAX);
                        (void) close(c);
                        continue;
                }
                ConnStart start = { egress_agent_ref(a), c };
                if (pool_hand(start))
                        continue;
                ConnStart *cs = malloc(sizeof *cs);
                pthread_t t;
                if (!cs) {
                        (void) close(c);
                        egress_agent_unref(a);
                        continue;
                }
                *cs = start;
                pthread_attr_init(&attr);
                pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
                pthread_attr_setstacksize(&attr, 512 * 1024);
                if (pthread_create(&t, &attr, serve_thread, cs) != 0) {
                        (void) close(c);
                        egress_agent_unref(a);
                        free(cs);
                }
                pthread_attr_destroy(&attr);
        }
        return 0;
}

static int on_pid_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        for (size_t i = 0; i < n_agents; i++)
                if (agents[i] == userdata) {
                        agent_drop(i);
                        break;
                }
        return 0;
}

static int agent_add(sd_event *e, const char *name, int listen_fd, pid_t pid, char *why, size_t why_size) {
        _cleanup_close_ int pidfd = (int) syscall(SYS_pidfd_open, pid, 0);
        EgressAgent *a;
        int r;

        if (pidfd < 0) {
                snprintf(why, why_size, "cannot watch the registering process: %m");
                return negative_errno();
        }
        for (size_t i = 0; i < n_agents; i++)
                if (streq(agents[i]->name, name)) {
                        log_info("Agent %s: registered again, replacing its listener.", name);
                        agent_drop(i);
                        break;
                }
        if (n_agents >= ELEMENTSOF(agents)) {
                snprintf(why, why_size, "too many agents");
                return -ENOSPC;
        }
        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->refs = 1;
        pthread_mutex_init(&a->lock, NULL);
        snprintf(a->name, sizeof a->name, "%s", name);
        snprintf(a->policy_path, sizeof a->policy_path, "%s/%s.policy", arg_policy_dir, name);
        snprintf(a->state_path, sizeof a->state_path, "%s/%s.stats", arg_state_dir, name);
        a->listen_fd = listen_fd;
        a->pidfd = TAKE_FD(pidfd);
        /* The loop accepts until EAGAIN; the runtime's copy is closed by then. */
        (void) fcntl(listen_fd, F_SETFL, fcntl(listen_fd, F_GETFL) | O_NONBLOCK);
        r = sd_event_add_io(e, &a->listen_source, listen_fd, EPOLLIN, on_accept, a);
        if (r >= 0)
                r = sd_event_add_io(e, &a->pid_source, a->pidfd, EPOLLIN, on_pid_exit, a);
        if (r < 0) {
                sd_event_source_disable_unref(a->listen_source);
                (void) close(a->pidfd);
                egress_agent_unref(a);
                snprintf(why, why_size, "event loop: %s", strerror(-r));
                return r;
        }
        agents[n_agents++] = a;
        egress_agent_flush_state(a);
        log_info("Agent %s: egress listener registered by PID %d, policy %s.", name, (int) pid, a->policy_path);
        return 0;
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        char name[65], why[256] = "";
        int listen_fd;
        pid_t pid;
        struct pollfd p;

        _cleanup_close_ int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
                return 0;
        p = (struct pollfd) { .fd = c, .events = POLLIN };
        if (poll(&p, 1, 2000) != 1)
                return 0;
        int r = egress_receive_registration(c, name, sizeof name, &listen_fd, &pid, why, sizeof why);
        if (r < 0) {
                log_warning("Refused an egress registration: %s", why);
                return 0;
        }
        r = agent_add(sd_event_source_get_event(s), name, listen_fd, pid, why, sizeof why);
        if (r < 0) {
                (void) close(listen_fd);
                log_warning("Agent %s: registration failed: %s", name, why);
        }
        (void) egress_answer_registration(c, r < 0 ? why : NULL);
        return 0;
}

static int control_socket(int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int n = sd_listen_fds(true);

        if (n > 1)
                return log_error_errno(-EINVAL, "Expected at most one socket from the service manager, got %d.", n);
        if (n == 1) {
                *ret = SD_LISTEN_FDS_START;
                (void) fcntl(*ret, F_SETFL, fcntl(*ret, F_GETFL) | O_NONBLOCK);
                return 0;
        }
        const char *path = arg_control ? arg_control : EGRESS_CONTROL_SOCKET;
        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(-ENAMETOOLONG, "Control socket path too long: %s", path);
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to create the control socket: %m");
        (void) unlink(path);
        mode_t old = umask(0077); /* root only */
        int r = bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 16) < 0 ? negative_errno() : 0;
        umask(old);
        if (r < 0) {
                (void) close(fd);
                return log_error_errno(r, "Failed to listen on %s: %m", path);
        }
        *ret = fd;
        return 0;
}

/* Counters reach the state files once a second, not once per request. */
static int on_state_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        for (size_t i = 0; i < n_agents; i++)
                egress_agent_flush_state(agents[i]);
        (void) sd_event_source_set_time(s, usec + 1000000);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ON); /* timers are one-shot */
        return 0;
}

static int run_daemon(void) {
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        int fd = -EBADF, r;

        (void) mkdir(arg_state_dir, 0755);
        r = control_socket(&fd);
        if (r < 0)
                return r;
        r = sd_event_default(&e);
        if (r < 0)
                return log_error_errno(r, "Failed to get the event loop: %m");
        sigset_t ss;
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        pthread_sigmask(SIG_BLOCK, &ss, NULL); /* before any thread exists */
        (void) sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        (void) sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        r = sd_event_add_time_relative(e, NULL, CLOCK_MONOTONIC, 1000000, 100000, on_state_timer, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to add the state timer: %m");
        r = sd_event_add_io(e, NULL, fd, EPOLLIN, on_control, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the control socket: %m");
        (void) sd_notify(false, "READY=1");
        log_info("Egress proxy ready; policies in %s, counters in %s.", arg_policy_dir, arg_state_dir);
        r = sd_event_loop(e);
        while (n_agents > 0)
                agent_drop(n_agents - 1);
        return r < 0 ? log_error_errno(r, "Event loop failed: %m") : 0;
}

static int run_hand_over(int argc, char **argv) {
        char why[256] = "";
        int fd, r;

        if (optind >= argc)
                return log_error_errno(-EINVAL, "hand-over: expected an agent name.");
        const char *name = argv[optind++];
        r = egress_listen_local(arg_port, &fd);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on 127.0.0.1:%u: %m", (unsigned) arg_port);
        r = egress_register_agent(arg_control, name, fd, why, sizeof why);
        (void) close(fd);
        if (r == -EPROTO)
                return log_error_errno(r, "The egress proxy refused agent %s: %s", name, why);
        if (r < 0)
                return log_error_errno(r, "Failed to hand agent %s to the egress proxy: %m", name);
        if (optind < argc && streq(argv[optind], "--"))
                optind++;
        if (optind >= argc) {
                pause();
                return 0;
        }
        execvp(argv[optind], argv + optind);
        return log_error_errno(negative_errno(), "Failed to execute %s: %m", argv[optind]);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "control", required_argument, NULL, 'c' },
                { "policy-dir", required_argument, NULL, 'p' },
                { "state-dir", required_argument, NULL, 's' },
                { "log", required_argument, NULL, 'l' },
                { "port", required_argument, NULL, 'P' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        uint64_t port;
        int c;

        log_set_prefix("agentcage-egress");
        signal(SIGPIPE, SIG_IGN);
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'c': arg_control = optarg; break;
                case 'p': arg_policy_dir = optarg; break;
                case 's': arg_state_dir = optarg; break;
                case 'l':
                        if (!streq(optarg, "journal") && !streq(optarg, "stderr"))
                                return log_error_errno(-EINVAL, "--log= takes journal or stderr."), 2;
                        egress_log_to_stderr(streq(optarg, "stderr"));
                        break;
                case 'P':
                        if (parse_uint64_range(optarg, 1, 65535, &port) < 0)
                                return log_error_errno(-EINVAL, "--port= takes 1-65535."), 2;
                        arg_port = (uint16_t) port;
                        break;
                case 'h':
                        printf("%s [--control=PATH] [--policy-dir=DIR] [--state-dir=DIR] [--log=journal|stderr]\n"
                               "%s hand-over [--control=PATH] [--port=N] NAME [-- COMMAND...]\n", argv[0], argv[0]);
                        return 0;
                default:
                        return 2;
                }
        if (optind < argc && streq(argv[optind], "hand-over")) {
                optind++;
                while ((c = getopt_long(argc, argv, "+", options, NULL)) >= 0)
                        if (c == 'c')
                                arg_control = optarg;
                        else if (c == 'P' && parse_uint64_range(optarg, 1, 65535, &port) >= 0)
                                arg_port = (uint16_t) port;
                        else
                                return 2;
                return run_hand_over(argc, argv) < 0 ? 1 : 0;
        }
        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument %s.", argv[optind]), 2;
        return run_daemon() < 0 ? 1 : 0;
}
