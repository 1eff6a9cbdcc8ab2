/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-init --uid=UID [--keep-caps=CAP,…] [--seccomp-filter=PATH] [--chdir=DIR]
 *            [--require-userns] [--apparmor=required|optional] [--exec-dir=DIR…]
 *            [--notify] [--watchdog-usec=USEC] [--memory-deny-write-execute=yes|no]
 *            [--health-interval-usec=USEC --health-retries=N --health-check=WORD…]
 *            -- EXEC [ARGS…]
 *
 * The container's PID 1 (docs/DESIGN.md, "The runtime contract").
 * systemd-nspawn starts it as root of the container's user namespace with only
 * CAP_SETUID, CAP_SETGID, CAP_SETPCAP and CAP_KILL (and CAP_NET_BIND_SERVICE
 * if the agent asked for it) left (src/basic/capability-table.h). It then:
 *
 *   1. reads the agent's seccomp filter (a raw BPF program written by
 *      `agent-runtime configure`) with src/seccomp/load.c; without one it
 *      refuses to go on: the agent never runs unfiltered;
 *   2. refuses to start without AppArmor unless --apparmor=optional says the
 *      site accepts that (and then warns on every start), and without
 *      Landlock, which confines execution to the image's own read-only tree
 *      (not /tmp, /workspace, /dev/shm, memfds), AppArmor or not;
 *   3. keeps its own uid (the container's root) but, of all capabilities,
 *      only CAP_SETUID, CAP_SETGID and CAP_KILL; the bounding set becomes
 *      the agent's kept capabilities. The agent runs under another uid, so
 *      it cannot signal, renice, limit or trace PID 1;
 *   4. forks: the child becomes the agent's uid and gid with only the kept
 *      capabilities, changes to --chdir=, sets no-new-privileges, applies
 *      the Landlock ruleset, asks AppArmor for the agentcage-agent profile on
 *      exec, loads the filter, resets its signal state and execs the agent;
 *   5. the parent stays PID 1: it forwards SIGTERM, SIGINT, SIGHUP, SIGUSR1
 *      and SIGUSR2 to the agent, reaps every process that ends up as its
 *      child (orphans included), and exits with the agent's status (128+N if
 *      the agent was killed by signal N) as soon as the agent is gone; the
 *      kernel then kills whatever is left in the PID namespace.
 *
 * Monitoring (all optional): with --notify the agent gets NOTIFY_SOCKET
 * pointing at an abstract socket of init's (the container has its own
 * network namespace, so no one else can reach it); init relays READY=1 and
 * STATUS= to systemd-nspawn, which only listens to the container's PID 1 —
 * the status text marked "agent: ", cut to STATUS_TEXT_MAX bytes, printable
 * ASCII only — and keeps WATCHDOG=1 to itself: without one within
 * --watchdog-usec the agent is killed and init exits with EXIT_HEARTBEAT.
 * --health-check runs the command every --health-interval-usec as a child
 * of init started exactly like the agent (uid, Landlock, AppArmor, filter);
 * after --health-retries failures in a row (non-zero exit, still running at
 * the next interval, or not even started, e.g. because the agent used up the
 * tasks limit) the agent is killed and init exits with EXIT_UNHEALTHY. A
 * check that could not start is retried at the next interval, not sooner,
 * and warnings are rate-limited. Either way systemd sees a failure and its
 * restart policy decides what happens next.
 *
 * W^X: the filter (src/seccomp/policy.c) refuses writable+executable memory
 * unless the definition says MemoryDenyWriteExecute=no, and so does
 * --memory-deny-write-execute= here. A JIT runtime then gets EPERM from
 * mmap()/mprotect() and typically aborts (V8: SIGTRAP or SIGABRT, after a
 * "Fatal process out of memory" or "Check failed" line). When the agent dies
 * of such a signal soon after it started and W^X is in force, init says
 * which key would change that, so the operator sees the cause, not just a
 * signal number.
 *
 * The binary is static (glibc) and has no dependencies: it is bind-mounted
 * into distroless images. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent-limits.h"
#include "capability-table.h"
#include "init-sandbox.h"
#include "load.h"
#include "log.h"
#include "macro.h"

#define SECCOMP_FILTER_DEFAULT "/run/agentcage/seccomp.bpf"
#define APPARMOR_AGENT_PROFILE "agentcage-agent"
/* What of an agent's STATUS= text reaches systemd, after the marker. */
#define STATUS_TEXT_MAX 200
#define STATUS_MARKER "STATUS=agent: "
/* At most this many extra --exec-dir= directories. */
#define EXEC_DIRS_MAX 16

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2 };

/* Exit codes of init when it ends the agent itself (see the top). */
#define EXIT_HEARTBEAT 3
#define EXIT_UNHEALTHY 4

/* An agent that dies of a crash signal within this long of its start while
 * W^X is in force gets the MemoryDenyWriteExecute= hint. A JIT runtime
 * allocates its code space at start; ten times what the slowest guest needs. */
#define EARLY_DEATH_USEC (60 * UINT64_C(1000000))

/* Abstract socket name the agent sends sd_notify messages to. */
#define NOTIFY_NAME "agentcage/notify"

static uid_t arg_uid = (uid_t) -1;
static uint64_t arg_keep_caps = 0;
static const char *arg_filter = SECCOMP_FILTER_DEFAULT;
static const char *arg_chdir = NULL;
static bool arg_require_userns = false;
static bool arg_apparmor_optional = false;
static char *arg_exec_dirs[EXEC_DIRS_MAX];
static size_t arg_n_exec_dirs = 0;
static bool arg_notify = false;
static bool arg_deny_write_execute = true;
static uint64_t arg_watchdog_usec = 0;
static uint64_t arg_health_interval_usec = 0;
static uint64_t arg_health_retries = 0;
static char *arg_health[HEALTH_CHECK_ARGS_MAX + 1];
static size_t arg_n_health = 0;
static char **arg_exec = NULL;

/* Strict decimal: no sign, no leading zeros, within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t) (*s - '0')) / 10)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*s - '0');
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_uid(const char *s, uid_t *ret) {
        unsigned long v;
        char *end;

        if (!s || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        if (s[0] == '0' && s[1] != '\0')
                return -EINVAL; /* no octal look-alikes */
        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        /* Never root, never the invalid or overflow-ambiguous 65535: the
         * container's user namespace maps 0…65535. */
        if (v == 0 || v > 65534)
                return -ERANGE;
        *ret = (uid_t) v;
        return 0;
}

static int parse_caps(const char *s, uint64_t *ret) {
        _cleanup_free_ char *copy = NULL;
        uint64_t mask = 0;

        if (!s || !*s)
                return -EINVAL;
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;

        for (char *save = NULL, *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                int cap = capability_from_name(w, false);
                if (cap < 0)
                        return log_error_errno(-EINVAL, "Unknown capability '%s' in --keep-caps=.", w);
                mask |= CAPABILITY_MASK((unsigned) cap);
        }
        /* A trailing or doubled comma is a typo, not an empty entry. */
        if (s[strlen(s) - 1] == ',' || strstr(s, ",,") || s[0] == ',')
                return log_error_errno(-EINVAL, "Empty entry in --keep-caps=%s.", s);
        *ret = mask;
        return 0;
}

enum {
        ARG_UID = 0x100, ARG_KEEP_CAPS, ARG_FILTER, ARG_CHDIR, ARG_REQUIRE_USERNS, ARG_NOTIFY,
        ARG_WATCHDOG, ARG_HEALTH_INTERVAL, ARG_HEALTH_RETRIES, ARG_HEALTH_CHECK, ARG_APPARMOR,
        ARG_EXEC_DIR, ARG_MDWE,
};

/* --watchdog-usec=, --health-*=. */
static int parse_monitor_arg(int c, char *arg) {
        uint64_t v;

        switch (c) {
        case ARG_WATCHDOG:
                if (arg_watchdog_usec || parse_u64(arg, 1000000, UINT64_C(86400000000), &v) < 0)
                        return log_error_errno(-EINVAL, "Invalid or repeated --watchdog-usec=%s.", arg);
                arg_watchdog_usec = v;
                break;
        case ARG_HEALTH_INTERVAL:
                if (arg_health_interval_usec || parse_u64(arg, 1000000, UINT64_C(86400000000), &v) < 0)
                        return log_error_errno(-EINVAL, "Invalid or repeated --health-interval-usec=%s.", arg);
                arg_health_interval_usec = v;
                break;
        case ARG_HEALTH_RETRIES:
                if (arg_health_retries || parse_u64(arg, 1, 100, &v) < 0)
                        return log_error_errno(-EINVAL, "Invalid or repeated --health-retries=%s.", arg);
                arg_health_retries = v;
                break;
        case ARG_HEALTH_CHECK:
                if (arg_n_health >= HEALTH_CHECK_ARGS_MAX)
                        return log_error_errno(-E2BIG, "More than %d --health-check= words.", HEALTH_CHECK_ARGS_MAX);
                arg_health[arg_n_health++] = arg;
                break;
        }
        return 0;
}

/* --memory-deny-write-execute=yes|no, once. */
static int parse_mdwe(const char *arg, bool *seen) {
        if (*seen || (!streq(arg, "yes") && !streq(arg, "no")))
                return log_error_errno(-EINVAL, "Invalid or repeated --memory-deny-write-execute=%s: expected yes or no.", arg);
        arg_deny_write_execute = streq(arg, "yes");
        *seen = true;
        return 0;
}

/* What the options say together, and the agent's command line after "--". */
static int check_args(int argc, char *argv[], int first) {
        if (arg_uid == (uid_t) -1)
                return log_error_errno(-EINVAL, "--uid= is required.");
        if (arg_watchdog_usec && !arg_notify)
                return log_error_errno(-EINVAL, "--watchdog-usec= needs --notify.");
        if ((arg_n_health > 0) != (arg_health_interval_usec > 0 && arg_health_retries > 0) ||
            (arg_n_health > 0 && arg_health[0][0] != '/'))
                return log_error_errno(-EINVAL, "--health-check= (an absolute path, then arguments) goes with "
                                                "--health-interval-usec= and --health-retries=.");
        if (first <= 1 || !streq(argv[first - 1], "--"))
                return log_error_errno(-EINVAL, "Expected '--' before the agent's command line.");
        if (first >= argc)
                return log_error_errno(-EINVAL, "No agent command line after '--'.");
        if (argv[first][0] != '/')
                return log_error_errno(-EINVAL, "The agent's executable must be an absolute path: %s", argv[first]);
        arg_exec = argv + first;
        return 1;
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",                 no_argument,       NULL, 'h'                 },
                { "uid",                  required_argument, NULL, ARG_UID             },
                { "keep-caps",            required_argument, NULL, ARG_KEEP_CAPS       },
                { "seccomp-filter",       required_argument, NULL, ARG_FILTER          },
                { "chdir",                required_argument, NULL, ARG_CHDIR           },
                { "require-userns",       no_argument,       NULL, ARG_REQUIRE_USERNS  },
                { "notify",               no_argument,       NULL, ARG_NOTIFY          },
                { "watchdog-usec",        required_argument, NULL, ARG_WATCHDOG        },
                { "health-interval-usec", required_argument, NULL, ARG_HEALTH_INTERVAL },
                { "health-retries",       required_argument, NULL, ARG_HEALTH_RETRIES  },
                { "health-check",         required_argument, NULL, ARG_HEALTH_CHECK    },
                { "apparmor",             required_argument, NULL, ARG_APPARMOR        },
                { "exec-dir",             required_argument, NULL, ARG_EXEC_DIR        },
                { "memory-deny-write-execute", required_argument, NULL, ARG_MDWE     },
                {}
        };
        bool have_caps = false, have_filter = false, have_apparmor = false, have_mdwe = false;
        int c, r;

        opterr = 0;
        /* '+': stop at the first non-option, so nothing of the agent's own
         * command line is ever taken for ours. */
        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        printf("agent-init --uid=UID [--keep-caps=CAP,…] [--seccomp-filter=PATH] [--apparmor=required|optional]\n"
                               "           [--exec-dir=DIR…] [--notify] [--health-…] [--memory-deny-write-execute=yes|no]\n"
                               "           -- EXEC [ARGS…]\n");
                        return 0;
                case ARG_UID:
                        if (arg_uid != (uid_t) -1)
                                return log_error_errno(-EINVAL, "--uid= given twice.");
                        r = parse_uid(optarg, &arg_uid);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --uid=%s: expected 1…65534.", optarg);
                        break;
                case ARG_KEEP_CAPS:
                        if (have_caps)
                                return log_error_errno(-EINVAL, "--keep-caps= given twice.");
                        r = parse_caps(optarg, &arg_keep_caps);
                        if (r < 0)
                                return r;
                        have_caps = true;
                        break;
                case ARG_FILTER:
                        if (have_filter)
                                return log_error_errno(-EINVAL, "--seccomp-filter= given twice.");
                        if (optarg[0] != '/')
                                return log_error_errno(-EINVAL, "--seccomp-filter= must be an absolute path.");
                        arg_filter = optarg;
                        have_filter = true;
                        break;
                case ARG_CHDIR:
                        if (arg_chdir || optarg[0] != '/')
                                return log_error_errno(-EINVAL, "--chdir= must be given once, as an absolute path.");
                        arg_chdir = optarg;
                        break;
                case ARG_REQUIRE_USERNS:
                        arg_require_userns = true;
                        break;
                case ARG_NOTIFY:
                        arg_notify = true;
                        break;
                case ARG_WATCHDOG:
                case ARG_HEALTH_INTERVAL:
                case ARG_HEALTH_RETRIES:
                case ARG_HEALTH_CHECK:
                        r = parse_monitor_arg(c, optarg);
                        if (r < 0)
                                return r;
                        break;
                case ARG_APPARMOR:
                        if (have_apparmor || (!streq(optarg, "required") && !streq(optarg, "optional")))
                                return log_error_errno(-EINVAL, "Invalid or repeated --apparmor=%s: expected required or optional.",
                                                       optarg);
                        arg_apparmor_optional = streq(optarg, "optional");
                        have_apparmor = true;
                        break;
                case ARG_EXEC_DIR:
                        if (arg_n_exec_dirs >= EXEC_DIRS_MAX || optarg[0] != '/')
                                return log_error_errno(-EINVAL, "--exec-dir= takes an absolute path, at most %d times.",
                                                       EXEC_DIRS_MAX);
                        arg_exec_dirs[arg_n_exec_dirs++] = optarg;
                        break;
                case ARG_MDWE:
                        if (parse_mdwe(optarg, &have_mdwe) < 0)
                                return -EINVAL;
                        break;
                case '?':
                        return log_error_errno(-EINVAL, "Unknown option or missing argument: %s", argv[optind - 1]);
                default:
                        return log_error_errno(-EINVAL, "Unexpected option code %d.", c);
                }

        return check_args(argc, argv, optind);
}

/* Reads the filter. A missing, empty, torn or oversized file is an error:
 * the caller must not start the agent then. */
static int read_filter(const char *path, SeccompProgram *ret) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open seccomp filter %s: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(negative_errno(), "Failed to stat %s: %m", path);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(-EBADFD, "Seccomp filter %s is not a regular file.", path);
        r = seccomp_program_read_fd(fd, ret);
        if (r == -EBADMSG)
                return log_error_errno(r, "Seccomp filter %s has an invalid size (empty, torn or too big).", path);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", path);
        return 0;
}

/* True when we are in a user namespace that maps less than the whole id
 * space: the agent must never run with the host's uids. */
static int in_user_namespace(void) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/uid_map", "re");
        unsigned long inner, outer, count;

        if (!f)
                return negative_errno();
        if (fscanf(f, "%lu %lu %lu", &inner, &outer, &count) != 3)
                return -EBADMSG;
        return !(inner == 0 && outer == 0 && count == 4294967295UL);
}

static uint64_t now_usec(void) {
        struct timespec ts;
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* Connects a datagram socket to the sd_notify socket at path ("@name" is
 * abstract). Done while init is still the container's root: nspawn's socket
 * is not writable for the agent's uid, and a connected socket keeps working. */
static int notify_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t len = strlen(path);
        _cleanup_close_ int fd = -EBADF;

        if (len == 0 || len >= sizeof sa.sun_path)
                return -EINVAL;
        memcpy(sa.sun_path, path, len);
        if (path[0] == '@')
                sa.sun_path[0] = '\0';
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len)) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static int notify_listen(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;

        memcpy(sa.sun_path + 1, NOTIFY_NAME, strlen(NOTIFY_NAME));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return negative_errno();
        if (bind(fd, (struct sockaddr *) &sa,
                 (socklen_t) (offsetof(struct sockaddr_un, sun_path) + 1 + strlen(NOTIFY_NAME))) < 0)
                return negative_errno();
        return TAKE_FD(fd);
}

static int exit_code_of(int status) {
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return 255;
}

/* What every child of PID 1 (the agent, each health check) is started with. */
static struct {
        SeccompProgram program;
        int apparmor;           /* > 0: switch to the agent profile on exec */
        int exec_ruleset_fd;
        sigset_t saved_mask;
} launch = { .exec_ruleset_fd = -EBADF };

/* At most RATELIMIT_BURST messages per RATELIMIT_INTERVAL_USEC per kind: a
 * payload that provokes warnings must not flood the journal. */
#define RATELIMIT_INTERVAL_USEC (30 * UINT64_C(1000000))
#define RATELIMIT_BURST 5

typedef struct RateLimit {
        uint64_t begin;
        unsigned n;
} RateLimit;

static bool ratelimit_ok(RateLimit *rl) {
        uint64_t now = now_usec();

        if (rl->begin == 0 || now - rl->begin >= RATELIMIT_INTERVAL_USEC) {
                rl->begin = now;
                rl->n = 0;
        }
        return rl->n++ < RATELIMIT_BURST;
}

typedef struct Supervisor {
        pid_t agent;
        int signal_fd;
        int notify_fd;          /* from the agent, or -1 */
        int upstream_fd;        /* to systemd-nspawn, or -1 */
        uint64_t started;       /* CLOCK_MONOTONIC µs of the fork */
        uint64_t watchdog_deadline;
        pid_t health_pid;
        uint64_t health_next;
        uint64_t health_failures;
        RateLimit health_log, notify_log;
        int verdict;            /* exit code once init decided to end the agent, else -1 */
} Supervisor;

/* In a fresh child of PID 1: put on the agent's walls and exec argv. */
_noreturn_ static void exec_child(char **argv) {
        int r;

        if (agent_drop_privileges(arg_uid, arg_keep_caps) < 0)
                _exit(126);
        /* Only now: the working directory (the workspace) belongs to the
         * agent's uid, and the container's root has no right to enter it. */
        if (arg_chdir && chdir(arg_chdir) < 0) {
                log_error_errno(negative_errno(), "Failed to change to the working directory %s: %m", arg_chdir);
                _exit(126);
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                log_error_errno(negative_errno(), "Failed to set no-new-privileges: %m");
                _exit(126);
        }
        r = exec_ruleset_apply(launch.exec_ruleset_fd);
        if (r < 0) {
                log_error_errno(r, "Failed to confine execution with Landlock: %m");
                _exit(126);
        }
        (void) close(launch.exec_ruleset_fd);
        if (launch.apparmor > 0) {
                r = apparmor_set_exec_profile(APPARMOR_AGENT_PROFILE);
                if (r < 0) {
                        log_error_errno(r, "Failed to select AppArmor profile %s for the agent: %m", APPARMOR_AGENT_PROFILE);
                        _exit(126);
                }
        }
        r = seccomp_program_load(&launch.program);
        if (r < 0) {
                log_error_errno(r, "Failed to load the seccomp filter: %m");
                _exit(126);
        }

        /* The agent starts with default signal dispositions and the mask
         * nspawn gave us, not init's. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) signal(sig, SIG_DFL);
        if (sigprocmask(SIG_SETMASK, &launch.saved_mask, NULL) < 0) {
                log_error_errno(negative_errno(), "Failed to reset the signal mask: %m");
                _exit(126);
        }

        execv(argv[0], argv);
        log_error_errno(negative_errno(), "Failed to execute %s: %m", argv[0]);
        _exit(errno == ENOENT ? 127 : 126);
}

/* The agent is gone with STATUS: if that looks like a JIT refused W^X memory,
 * say which key of the definition would allow it. */
static void explain_agent_death(const Supervisor *s, int status) {
        int sig;

        if (!WIFSIGNALED(status) || !arg_deny_write_execute || s->verdict >= 0)
                return;
        sig = WTERMSIG(status);
        if (sig != SIGTRAP && sig != SIGABRT && sig != SIGILL && sig != SIGSEGV && sig != SIGBUS)
                return;
        if (now_usec() - s->started > EARLY_DEATH_USEC)
                return;
        log_error("The agent died of signal %d (%s) %" PRIu64 "s after it started, with writable+executable "
                  "memory refused. If it is a JIT runtime (Node.js/V8, a JVM), set [Security] "
                  "MemoryDenyWriteExecute=no in its definition.",
                  sig, strsignal(sig), (now_usec() - s->started) / 1000000);
}

static void end_agent(Supervisor *s, int verdict) {
        if (s->verdict >= 0)
                return;
        s->verdict = verdict;
        (void) kill(s->agent, SIGKILL);
}

/* STATUS=TEXT from the agent, as systemd gets it: marked as the agent's, cut
 * to STATUS_TEXT_MAX bytes, every byte outside printable ASCII made '?'. */
static size_t agent_status_line(const char *text, char *buf, size_t size) {
        size_t n = strlen(STATUS_MARKER), i;

        memcpy(buf, STATUS_MARKER, n);
        for (i = 0; text[i] && i < STATUS_TEXT_MAX && n + 1 < size; i++)
                buf[n++] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
        buf[n] = '\0';
        return n;
}

static void relay(Supervisor *s, const char *line, size_t len, const char *what) {
        if (send(s->upstream_fd, line, len, MSG_NOSIGNAL) < 0 && ratelimit_ok(&s->notify_log))
                log_warning_errno(negative_errno(), "Failed to pass %s on to systemd-nspawn: %m", what);
}

/* One datagram from the agent: relay what systemd should see, keep the
 * heartbeat. Only the state lines we know are passed on. */
static void handle_notify(Supervisor *s) {
        char buf[4096], status[sizeof STATUS_MARKER + STATUS_TEXT_MAX + 1];
        ssize_t n = recv(s->notify_fd, buf, sizeof buf - 1, MSG_DONTWAIT);

        if (n <= 0)
                return;
        buf[n] = '\0';
        for (char *save = NULL, *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (streq(line, "WATCHDOG=1")) {
                        if (arg_watchdog_usec)
                                s->watchdog_deadline = now_usec() + arg_watchdog_usec;
                } else if (s->upstream_fd < 0)
                        continue;
                else if (streq(line, "READY=1"))
                        relay(s, line, strlen(line), "READY=1");
                else if (strncmp(line, "STATUS=", 7) == 0)
                        relay(s, status, agent_status_line(line + 7, status, sizeof status), "STATUS=");
        }
}

static void health_failed(Supervisor *s, const char *why, int value) {
        s->health_failures++;
        if (ratelimit_ok(&s->health_log))
                log_warning("Health check failed (%s %d), %" PRIu64 " of %" PRIu64 " in a row.", why, value,
                            s->health_failures, arg_health_retries);
        if (s->health_failures >= arg_health_retries) {
                log_error("The agent failed %" PRIu64 " health checks in a row; ending it.", s->health_failures);
                end_agent(s, EXIT_UNHEALTHY);
        }
}

static void health_tick(Supervisor *s) {
        uint64_t now = now_usec();

        /* The next one is due one interval from now, whatever happens to
         * this one: a check that cannot even start is never retried sooner. */
        s->health_next = now + arg_health_interval_usec;
        if (s->health_pid > 0) {
                /* Still running at the next interval: that is a failure too. */
                if (ratelimit_ok(&s->health_log))
                        log_warning("Health check still running after %" PRIu64 "s, killing it.",
                                    arg_health_interval_usec / 1000000);
                (void) kill(s->health_pid, SIGKILL);
                return; /* counted when reaped */
        }
        s->health_pid = fork();
        if (s->health_pid < 0) {
                /* The agent may have used up the tasks limit to switch its
                 * health checks off: a check that cannot start has failed. */
                int r = negative_errno();
                s->health_pid = 0;
                health_failed(s, "could not start, errno", -r);
                return;
        }
        if (s->health_pid == 0)
                exec_child(arg_health);
}

static void health_result(Supervisor *s, int status) {
        s->health_pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                s->health_failures = 0;
                return;
        }
        health_failed(s, WIFEXITED(status) ? "exit status" : "signal",
                      WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

static int supervise(Supervisor *s) {
        for (;;) {
                struct pollfd p[2] = {
                        { .fd = s->signal_fd, .events = POLLIN },
                        { .fd = s->notify_fd, .events = POLLIN },
                };
                uint64_t now = now_usec(), next = UINT64_MAX;
                int timeout_ms;

                if (s->verdict < 0 && s->watchdog_deadline) {
                        if (now >= s->watchdog_deadline) {
                                log_error("The agent missed its heartbeat: no WATCHDOG=1 within %" PRIu64 "s; ending it.",
                                          arg_watchdog_usec / 1000000);
                                end_agent(s, EXIT_HEARTBEAT);
                        } else
                                next = s->watchdog_deadline;
                }
                if (s->verdict < 0 && arg_n_health > 0) {
                        if (now >= s->health_next)
                                health_tick(s);
                        next = MIN(next, s->health_next);
                }
                timeout_ms = next == UINT64_MAX ? -1 : (int) MIN((next - MIN(next, now_usec())) / 1000 + 1, 60000U);

                if (poll(p, s->notify_fd >= 0 ? 2 : 1, timeout_ms) < 0) {
                        if (errno == EINTR)
                                continue;
                        log_error_errno(negative_errno(), "Failed to wait for events: %m");
                        (void) kill(s->agent, SIGKILL);
                        return 255;
                }
                if (s->notify_fd >= 0 && (p[1].revents & POLLIN))
                        handle_notify(s);
                if (!(p[0].revents & POLLIN))
                        continue;

                struct signalfd_siginfo si;
                if (read(s->signal_fd, &si, sizeof si) != (ssize_t) sizeof si)
                        continue;

                if (si.ssi_signo != SIGCHLD) {
                        /* The agent decides what the signal means; if it is
                         * already gone the next SIGCHLD ends us anyway. */
                        if (kill(s->agent, (int) si.ssi_signo) < 0 && errno != ESRCH)
                                log_warning("Failed to forward signal %u to the agent: %m", si.ssi_signo);
                        continue;
                }

                /* SIGCHLD coalesces: reap everything that is ready. */
                for (;;) {
                        int status;
                        pid_t pid = waitpid(-1, &status, WNOHANG);
                        if (pid < 0 && errno == EINTR)
                                continue;
                        if (pid <= 0)
                                break; /* nothing more now, or no children */
                        if (pid == s->health_pid && (WIFEXITED(status) || WIFSIGNALED(status)))
                                health_result(s, status);
                        else if (pid == s->agent && (WIFEXITED(status) || WIFSIGNALED(status))) {
                                explain_agent_death(s, status);
                                return s->verdict >= 0 ? s->verdict : exit_code_of(status);
                        }
                }
        }
}


/* Everything before the first fork; returns 0 or 1 (the exit code). */
static int prepare(Supervisor *sup) {
        int r;

        if (read_filter(arg_filter, &launch.program) < 0) {
                log_error("Refusing to start the agent without its seccomp filter.");
                return 1;
        }
        if (arg_require_userns) {
                r = in_user_namespace();
                if (r <= 0) {
                        log_error_errno(r < 0 ? r : -EPERM, "Refusing to start the agent outside a user namespace%s",
                                        r < 0 ? ": %m" : ".");
                        return 1;
                }
        }

        launch.apparmor = apparmor_enabled();
        if (launch.apparmor < 0) {
                log_error_errno(launch.apparmor, "Failed to find out whether AppArmor is enabled: %m");
                return 1;
        }
        if (launch.apparmor == 0 && !arg_apparmor_optional) {
                log_error("AppArmor is not enabled on this kernel; refusing to start the agent without its profile "
                          "%s (--apparmor=optional would accept that).", APPARMOR_AGENT_PROFILE);
                return 1;
        }
        if (launch.apparmor == 0)
                log_warning("WARNING: AppArmor is not enabled on this kernel: the agent runs WITHOUT its AppArmor "
                            "profile %s, because the site chose --apparmor=optional.", APPARMOR_AGENT_PROFILE);

        /* Made now, while / can still be read as root. */
        launch.exec_ruleset_fd = exec_ruleset_new(arg_exec_dirs, arg_n_exec_dirs);
        if (launch.exec_ruleset_fd < 0) {
                log_error("Refusing to start the agent without Landlock's execution rules.");
                return 1;
        }

        if (arg_notify) {
                const char *upstream = getenv("NOTIFY_SOCKET");

                /* nspawn's socket is only writable for the container's root:
                 * connect now, while we are that. */
                if (upstream) {
                        sup->upstream_fd = notify_connect(upstream);
                        if (sup->upstream_fd < 0)
                                log_warning_errno(sup->upstream_fd, "Failed to connect to %s, readiness is not passed on: %m",
                                                  upstream);
                }
                sup->notify_fd = notify_listen();
                if (sup->notify_fd < 0) {
                        log_error_errno(sup->notify_fd, "Failed to create the agent's notify socket: %m");
                        return 1;
                }
                if (setenv("NOTIFY_SOCKET", "@" NOTIFY_NAME, 1) < 0) {
                        log_oom();
                        return 1;
                }
        } else
                (void) unsetenv("NOTIFY_SOCKET");

        /* Outside a PID namespace (tests) orphans would go elsewhere; as PID 1
         * this changes nothing. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0) {
                log_error_errno(negative_errno(), "Failed to become a child subreaper: %m");
                return 1;
        }
        if (supervisor_drop_privileges(arg_keep_caps) < 0)
                return 1;
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
                log_error_errno(negative_errno(), "Failed to set no-new-privileges: %m");
                return 1;
        }
        return 0;
}

int main(int argc, char *argv[]) {
        Supervisor sup = { .signal_fd = -EBADF, .notify_fd = -EBADF, .upstream_fd = -EBADF, .verdict = -1 };
        sigset_t mask;
        pid_t agent;
        int r;

        log_set_prefix("agent-init");

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;
        r = prepare(&sup);
        if (r != 0)
                return r;

        /* Block what we handle before the child exists, so that nothing sent
         * between fork() and the first read of the signalfd is lost. */
        sigemptyset(&mask);
        for (size_t i = 0; i < ELEMENTSOF(forwarded_signals); i++)
                sigaddset(&mask, forwarded_signals[i]);
        sigaddset(&mask, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &mask, &launch.saved_mask) < 0) {
                log_error_errno(negative_errno(), "Failed to block signals: %m");
                return 1;
        }

        sup.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC);
        if (sup.signal_fd < 0) {
                log_error_errno(negative_errno(), "Failed to create a signalfd: %m");
                return 1;
        }

        agent = fork();
        if (agent < 0) {
                log_error_errno(negative_errno(), "Failed to fork the agent: %m");
                return 1;
        }
        if (agent == 0)
                exec_child(arg_exec);

        sup.agent = agent;
        sup.started = now_usec();
        if (arg_watchdog_usec)
                sup.watchdog_deadline = now_usec() + arg_watchdog_usec;
        if (arg_n_health > 0)
                sup.health_next = now_usec() + arg_health_interval_usec;
        return supervise(&sup);
}
