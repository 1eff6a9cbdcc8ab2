/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of agent-init, run as root outside a container: credentials and
 * capabilities of the agent it starts, its seccomp filter, signal
 * forwarding (also as PID 1 of a new PID namespace), orphan reaping, and its
 * refusal to start an agent without a filter.
 *
 * argv[1]: the agent-init binary, argv[2]: the test payload. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "tap.h"
#include "test-util.h"

/* The host running the tests has no AppArmor; the refusal is tested on its own. */
#define AA "--apparmor=optional"

static const char *init_path;
static char dir[] = "/tmp/test-init.XXXXXX";
static char payload[512], filter[512], empty_filter[512];

typedef struct Run {
        pid_t pid;
        int out; /* read end of the child's stdout+stderr */
} Run;

/* Starts agent-init with ARGV (NULL-terminated, without argv[0]); with
 * new_pidns it becomes PID 1 of a new PID namespace. */
/* RLIMIT_NPROC for the next start() (0: unchanged). */
static rlim_t start_nproc;

static Run start(bool new_pidns, const char *const *args) {
        const char *argv[32] = { init_path };
        int p[2], n = 1;
        pid_t pid;

        for (; *args && n < 31; args++)
                argv[n++] = *args;
        argv[n] = NULL;

        if (pipe2(p, O_CLOEXEC) < 0)
                return (Run) { -1, -1 };
        fflush(stdout);
        if (new_pidns)
                /* A raw clone() without a new stack behaves like fork(). */
                pid = (pid_t) syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
        else
                pid = fork();
        if (pid == 0) {
                struct rlimit rl = { start_nproc, start_nproc };
                if (start_nproc > 0 && setrlimit(RLIMIT_NPROC, &rl) < 0)
                        _exit(98);
                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                execv(init_path, (char **) argv);
                _exit(99);
        }
        close(p[1]);
        return (Run) { pid, p[0] };
}

static int finish_run(Run r, const char **ret_out) {
        const char *out = test_read_all(r.out);
        int status;

        close(r.out);
        if (waitpid(r.pid, &status, 0) != r.pid)
                return -1;
        test_diag_lines("#   | ", out);
        if (ret_out)
                *ret_out = out;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_init(const char **ret_out, const char *const *args) {
        return finish_run(start(false, args), ret_out);
}

/* Waits until the child printed "ready". */
static bool wait_ready(int fd) {
        char buf[256];
        size_t n = 0;

        while (n < sizeof buf - 1) {
                ssize_t k = read(fd, buf + n, 1);
                if (k <= 0)
                        return false;
                n += (size_t) k;
                buf[n] = '\0';
                if (strstr(buf, "ready\n"))
                        return true;
        }
        return false;
}

static int make_filter(void) {
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        int fd, r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTRECOVERABLE), SCMP_SYS(getcpu), 0);
        if (r >= 0) {
                fd = open(filter, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                r = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
                if (fd >= 0)
                        close(fd);
        }
        seccomp_release(ctx);
        return r;
}

static bool has_line(const char *out, const char *line) {
        const char *p = out;
        size_t n = strlen(line);

        while ((p = strstr(p, line))) {
                if ((p == out || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
                        return true;
                p += n;
        }
        return false;
}

/* The Groups: line lists nothing (the kernel may leave a blank). */
static bool groups_empty(const char *out) {
        const char *p = strstr(out, "Groups:");

        if (!p || (p != out && p[-1] != '\n'))
                return false;
        for (p += strlen("Groups:"); *p && *p != '\n'; p++)
                if (*p != ' ' && *p != '\t')
                        return false;
        return true;
}

static void test_status(void) {
        char fopt[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "status", NULL });
        CHECK_MSG(rc == 0, "agent-init runs the payload and exits with its status (%d)", rc);
        CHECK(has_line(out, "Uid:\t65534\t65534\t65534\t65534"));
        CHECK(has_line(out, "Gid:\t65534\t65534\t65534\t65534"));
        CHECK_MSG(groups_empty(out), "no supplementary groups");
        CHECK(has_line(out, "CapInh:\t0000000000000000"));
        CHECK(has_line(out, "CapPrm:\t0000000000000000"));
        CHECK(has_line(out, "CapEff:\t0000000000000000"));
        CHECK(has_line(out, "CapBnd:\t0000000000000000"));
        CHECK(has_line(out, "CapAmb:\t0000000000000000"));
        CHECK(has_line(out, "NoNewPrivs:\t1"));
        CHECK(has_line(out, "Seccomp:\t2"));
        CHECK_MSG(strstr(out, "AppArmor is not enabled") || access("/sys/module/apparmor/parameters/enabled", F_OK) == 0,
                  "without AppArmor, init says so");

        rc = run_init(&out, (const char *const[]) {
                "--uid=65534", AA, "--keep-caps=CAP_NET_BIND_SERVICE", fopt, "--", payload, "status", NULL });
        CHECK(rc == 0);
        CHECK(has_line(out, "Uid:\t65534\t65534\t65534\t65534"));
        CHECK(has_line(out, "CapInh:\t0000000000000400"));
        CHECK(has_line(out, "CapPrm:\t0000000000000400"));
        CHECK(has_line(out, "CapEff:\t0000000000000400"));
        CHECK(has_line(out, "CapBnd:\t0000000000000400"));
        CHECK(has_line(out, "CapAmb:\t0000000000000400"));
        CHECK(has_line(out, "NoNewPrivs:\t1"));

        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "getcpu", NULL });
        CHECK_MSG(rc == 0 && has_line(out, "getcpu=131"), "the filter is in force for the agent");
}

static void test_signals(void) {
        char fopt[600];
        const char *out;
        Run r;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);

        for (int pidns = 0; pidns <= 1; pidns++) {
                r = start(pidns, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "wait-term", "42", NULL });
                CHECK(r.pid > 0 && wait_ready(r.out));
                CHECK(kill(r.pid, SIGTERM) == 0);
                rc = finish_run(r, &out);
                CHECK_MSG(rc == 42, "%sSIGTERM reaches the agent, init exits with its code (%d)",
                          pidns ? "as PID 1: " : "", rc);

                r = start(pidns, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "wait-default", NULL });
                CHECK(r.pid > 0 && wait_ready(r.out));
                CHECK(kill(r.pid, SIGTERM) == 0);
                rc = finish_run(r, &out);
                CHECK_MSG(rc == 143, "%san agent killed by SIGTERM makes init exit 143 (%d)",
                          pidns ? "as PID 1: " : "", rc);
        }

        r = start(false, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "wait-default", NULL });
        CHECK(r.pid > 0 && wait_ready(r.out));
        CHECK(kill(r.pid, SIGHUP) == 0);
        rc = finish_run(r, &out);
        CHECK_MSG(rc == 129, "SIGHUP is forwarded too (%d)", rc);
}

static void test_orphans(void) {
        char fopt[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "orphan", NULL });
        CHECK(rc == 0);
        CHECK_MSG(has_line(out, "reaped"), "an orphaned grandchild is reaped by init, no zombie left");
}

/* A JIT runtime that dies at start under W^X gets a line naming the key;
 * nothing of the kind when W^X is off or the agent merely exits. */
static void test_write_execute_hint(void) {
        static const char hint[] = "set [Security] MemoryDenyWriteExecute=no in its definition";
        char fopt[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "trap", NULL });
        CHECK_MSG(rc == 128 + SIGTRAP, "an agent killed by SIGTRAP makes init exit 128+5 (%d)", rc);
        CHECK_MSG(strstr(out, hint) && strstr(out, "died of signal 5"), "and init names MemoryDenyWriteExecute=no");
        rc = run_init(&out, (const char *const[]) {
                "--uid=65534", AA, fopt, "--memory-deny-write-execute=no", "--", payload, "trap", NULL });
        CHECK_MSG(rc == 128 + SIGTRAP && !strstr(out, hint), "with --memory-deny-write-execute=no it does not");
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "exit-3", NULL });
        CHECK_MSG(rc == 3 && !strstr(out, hint), "an agent that exits with a status gets no hint");
        CHECK(run_init(&out, (const char *const[]) {
                "--uid=65534", AA, fopt, "--memory-deny-write-execute=maybe", "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) {
                "--uid=65534", AA, fopt, "--memory-deny-write-execute=no", "--memory-deny-write-execute=no", "--",
                payload, "status", NULL }) == 2);
}

static void test_refusals(void) {
        char fopt[600], eopt[600], marker[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        snprintf(eopt, sizeof eopt, "--seccomp-filter=%s", empty_filter);
        snprintf(marker, sizeof marker, "%s/ran", dir);

        rc = run_init(&out, (const char *const[]) {
                "--uid=65534", AA, "--seccomp-filter=/nonexistent/seccomp.bpf", "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc != 0 && access(marker, F_OK) < 0, "a missing filter: the agent is not started (%d)", rc);
        CHECK(strstr(out, "without its seccomp filter") != NULL);

        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, eopt, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc != 0 && access(marker, F_OK) < 0, "an empty filter: the agent is not started (%d)", rc);

        /* The default path does not exist outside a container. */
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc != 0 && access(marker, F_OK) < 0, "no filter at the default path: not started (%d)", rc);

        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc == 0 && access(marker, F_OK) == 0, "with its filter the same payload runs");

        CHECK(run_init(&out, (const char *const[]) { "--uid=0", AA, fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=65535", AA, fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=65a", AA, fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, "--uid=1", fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, fopt, payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, fopt, "--", "relative", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, fopt, "--", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, "--keep-caps=CAP_FROB", fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, "--keep-caps=CAP_NET_BIND_SERVICE,", fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=1", AA, "--bogus", fopt, "--", payload, "status", NULL }) == 2);
        CHECK_MSG(run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", "/nonexistent/agent", NULL }) == 127,
                  "an agent that cannot be executed: 127");
}

static void test_apparmor(void) {
        char fopt[600], marker[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        snprintf(marker, sizeof marker, "%s/ran-apparmor", dir);
        if (access("/sys/module/apparmor/parameters/enabled", F_OK) == 0) {
                printf("ok %d - AppArmor refusal # SKIP this kernel has AppArmor\n", ++tap_n);
                return;
        }
        rc = run_init(&out, (const char *const[]) { "--uid=65534", fopt, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc == 1 && access(marker, F_OK) < 0, "without AppArmor the agent is not started by default (%d)", rc);
        CHECK(strstr(out, "--apparmor=optional would accept that") != NULL);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", "--apparmor=required", fopt, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc == 1 && access(marker, F_OK) < 0, "--apparmor=required refuses the same (%d)", rc);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "marker", marker, NULL });
        CHECK_MSG(rc == 0 && access(marker, F_OK) == 0, "--apparmor=optional starts it (%d)", rc);
        CHECK_MSG(strstr(out, "WARNING: AppArmor is not enabled") != NULL, "… and warns loudly");
        CHECK(run_init(&out, (const char *const[]) { "--uid=65534", "--apparmor=maybe", fopt, "--", payload, "status", NULL }) == 2);
        CHECK(run_init(&out, (const char *const[]) { "--uid=65534", AA, AA, fopt, "--", payload, "status", NULL }) == 2);
}

/* PID 1 keeps another uid than the agent: the agent cannot renice, limit,
 * signal or trace it. */
static void test_init_out_of_reach(void) {
        char fopt[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        rc = finish_run(start(true, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "poke-init", NULL }), &out);
        CHECK_MSG(rc == 0, "the payload pokes PID 1 and exits (%d)", rc);
        CHECK_MSG(has_line(out, "setpriority=EPERM"), "setpriority() on PID 1 fails with EPERM");
        CHECK_MSG(has_line(out, "prlimit=EPERM"), "prlimit() on PID 1 fails with EPERM");
        CHECK_MSG(has_line(out, "kill=EPERM"), "kill() of PID 1 fails with EPERM");
        CHECK_MSG(has_line(out, "ptrace=EPERM"), "ptrace(PTRACE_ATTACH) of PID 1 fails with EPERM");
}

/* Landlock: what the agent writes does not execute, AppArmor or not. */
static void test_exec_written(void) {
        char fopt[600];
        const char *out;
        int rc;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, fopt, "--", payload, "exec-written", "/dev/shm", NULL });
        CHECK_MSG(rc == 0, "the payload copies itself to /dev/shm and a memfd (%d)", rc);
        CHECK_MSG(has_line(out, "exec-dir=EACCES"), "a copy in /dev/shm does not execute (EACCES)");
        /* Landlock does not cover memfds (an internal mount): the agent's
         * policy refuses memfd_create() instead (test-seccomp-filter). */
        CHECK(run_init(&out, (const char *const[]) { "--uid=65534", AA, "--exec-dir=relative", fopt, "--", payload, "status", NULL }) == 2);
}

/* STATUS= reaches systemd marked as the agent's, bounded, printable. */
static void test_status_text(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char fopt[600], sock[600], env[700], got[2048] = "";
        const char *out;
        int fd, rc;
        ssize_t n;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        snprintf(sock, sizeof sock, "%s/notify", dir);
        strncpy(sa.sun_path, sock, sizeof sa.sun_path - 1);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                CHECK_MSG(false, "an upstream notify socket: %s", strerror(errno));
                return;
        }
        snprintf(env, sizeof env, "NOTIFY_SOCKET=%s", sock);
        putenv(env);
        rc = run_init(&out, (const char *const[]) { "--uid=65534", AA, "--notify", fopt, "--", payload, "notify", NULL });
        unsetenv("NOTIFY_SOCKET");
        CHECK_MSG(rc == 0, "the payload sends its notification (%d)", rc);
        CHECK_MSG(recv(fd, got, sizeof got - 1, MSG_DONTWAIT) == 7 && streq(got, "READY=1"), "READY=1 is passed on");
        n = recv(fd, got, sizeof got - 1, MSG_DONTWAIT);
        got[n > 0 ? n : 0] = '\0';
        printf("#   upstream got: %.80s…\n", got);
        CHECK_MSG(strncmp(got, "STATUS=agent: ?[31mREADY=1 x", 28) == 0, "STATUS= is marked as the agent's, escape made '?'");
        CHECK_MSG(n > 0 && (size_t) n == strlen("STATUS=agent: ") + 200, "the status text is cut to 200 bytes (%zd)", n);
        close(fd);
}

/* A payload that uses up its process limit cannot switch health checks off:
 * PID 1 keeps another uid, so RLIMIT_NPROC of the agent's uid does not stop
 * it from starting them (before, it failed to fork and retried every
 * millisecond, counting nothing), and the log stays short. */
static void test_health_fork_bomb(void) {
        char fopt[600], hc[600];
        const char *out;
        unsigned checks = 0, noise = 0;
        Run r;

        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s", filter);
        snprintf(hc, sizeof hc, "--health-check=%s", payload);
        start_nproc = 24;
        r = start(true, (const char *const[]) { "--uid=65534", AA, fopt, "--health-interval-usec=1000000",
                                                "--health-retries=2", hc, "--health-check=status", "--",
                                                payload, "fork-hold", NULL });
        start_nproc = 0;
        CHECK(r.pid > 0 && wait_ready(r.out));
        usleep(3500 * 1000);
        (void) kill(r.pid, SIGKILL); /* PID 1 of its namespace: everything goes */
        (void) finish_run(r, &out);
        for (const char *l = out; (l = strstr(l, "Seccomp:")); l++)
                checks++;
        for (const char *l = out; (l = strstr(l, "health check")); l++)
                noise++;
        printf("#   %u health checks ran, %u lines about health checks\n", checks, noise);
        CHECK_MSG(checks >= 2, "health checks still run while the agent holds its whole process limit (%u)", checks);
        CHECK_MSG(noise <= 5, "no flood of health-check lines (%u)", noise);
}

int main(int argc, char *argv[]) {
        char cmd[1200];

        if (argc != 3) {
                printf("Bail out! usage: test-init AGENT-INIT PAYLOAD\n");
                return 1;
        }
        if (test_root_scratch_dir("it changes uid and drops capabilities", dir, 01777) < 0)
                return 1;
        init_path = argv[1];
        /* The payload must be executable by uid 65534, wherever the build
         * directory is. */
        snprintf(payload, sizeof payload, "%s/payload", dir);
        snprintf(filter, sizeof filter, "%s/filter.bpf", dir);
        snprintf(empty_filter, sizeof empty_filter, "%s/empty.bpf", dir);
        snprintf(cmd, sizeof cmd, "install -m 0755 '%s' '%s' && : > '%s'", argv[2], payload, empty_filter);
        if (system(cmd) != 0 || make_filter() < 0) {
                printf("Bail out! cannot prepare %s\n", dir);
                return 1;
        }

        test_status();
        test_signals();
        test_orphans();
        test_refusals();
        test_write_execute_hint();
        test_apparmor();
        test_init_out_of_reach();
        test_exec_written();
        test_status_text();
        test_health_fork_bomb();

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void) !system(cmd);
        return tap_finish();
}
