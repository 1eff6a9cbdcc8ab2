/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "agent" test-init runs under agent-init. One mode per argument:
 *   status             print the credential lines of /proc/self/status
 *   getcpu             print the errno of a raw getcpu() (the test filter
 *                      makes it fail with ENOTRECOVERABLE)
 *   wait-term CODE     print "ready", exit CODE on SIGTERM
 *   wait-default       print "ready", wait; SIGTERM kills it
 *   orphan             leave a grandchild to init, then report whether
 *                      init reaped it ("reaped") or left a zombie ("zombie")
 *   marker PATH        create PATH (proves the payload ran)
 *   poke-init          try setpriority, prlimit, kill and ptrace on its
 *                      parent (PID 1 in a PID namespace): "NAME=ERRNO" each
 *   exec-written DIR   copy itself into DIR and into a memfd and try to
 *                      execute each copy: "exec-DIR=ERRNO", "exec-memfd=…",
 *                      "exec-proc-fd=…" ("ran" if a copy ran)
 *   notify             send READY=1 and a hostile STATUS= to NOTIFY_SOCKET
 *   fork-hold          fork until fork fails, print "ready", wait (the
 *                      children wait too) */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../agents/fork-hold.h"

static int term_code;

static void on_term(int sig) {
        (void) sig;
        _exit(term_code);
}

static int mode_status(void) {
        static const char *const keys[] = {
                "Uid:", "Gid:", "Groups:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:",
                "NoNewPrivs:", "Seccomp:",
        };
        char line[512];
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return 1;
        while (fgets(line, sizeof line, f))
                for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
                        if (strncmp(line, keys[i], strlen(keys[i])) == 0)
                                fputs(line, stdout);
        fclose(f);
        return 0;
}

static int mode_orphan(void) {
        int pipefd[2];
        pid_t child, grandchild = 0;
        char path[64], buf[512];
        FILE *f;

        if (pipe(pipefd) < 0)
                return 1;
        child = fork();
        if (child < 0)
                return 1;
        if (child == 0) {
                pid_t g = fork();
                if (g == 0) {
                        /* Outlive our parent, then die as an orphan. */
                        usleep(200 * 1000);
                        _exit(0);
                }
                (void) !write(pipefd[1], &g, sizeof g);
                _exit(0);
        }
        close(pipefd[1]);
        if (read(pipefd[0], &grandchild, sizeof grandchild) != sizeof grandchild)
                return 1;
        (void) waitpid(child, NULL, 0);

        /* Give init time to reap it after it exits. */
        usleep(1200 * 1000);
        snprintf(path, sizeof path, "/proc/%d/stat", (int) grandchild);
        f = fopen(path, "re");
        if (!f) {
                printf("reaped\n");
                return 0;
        }
        if (fgets(buf, sizeof buf, f) && strstr(buf, ") Z "))
                printf("zombie\n");
        else
                printf("alive\n");
        fclose(f);
        return 0;
}

static const char *err(long r) {
        static char buf[32];
        if (r >= 0)
                return "ok";
        snprintf(buf, sizeof buf, "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
        return buf;
}

static int mode_poke_init(void) {
        pid_t init = getppid();
        struct rlimit rl = { 16, 16 };

        printf("setpriority=%s\n", err(setpriority(PRIO_PROCESS, (id_t) init, 19)));
        printf("prlimit=%s\n", err(prlimit(init, RLIMIT_NOFILE, &rl, NULL)));
        printf("kill=%s\n", err(kill(init, SIGUSR2)));
        printf("ptrace=%s\n", err(ptrace(PTRACE_ATTACH, init, NULL, NULL)));
        return 0;
}

static int copy_self(int out) {
        int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (in < 0)
                return -1;
        while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
                ;
        close(in);
        return n < 0 ? -1 : 0;
}

static void try_exec(const char *what, const char *path, int fd) {
        pid_t pid = fork();
        int status;

        if (pid == 0) {
                char *args[] = { (char *) "payload", (char *) "marker", (char *) "/dev/null/x", NULL };
                if (fd >= 0)
                        syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH);
                else
                        execv(path, args);
                printf("%s=%s\n", what, err(-1));
                _exit(0);
        }
        if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) != 0)
                printf("%s=ran\n", what); /* marker fails on /dev/null/x: the copy ran */
        fflush(stdout);
}

static int mode_exec_written(const char *dir) {
        char path[512], proc[64];
        int fd, mfd;

        snprintf(path, sizeof path, "%s/payload-copy-%d", dir, (int) getpid());
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        if (fd < 0 || copy_self(fd) < 0)
                return 1;
        close(fd);
        try_exec("exec-dir", path, -1);
        unlink(path);

        mfd = (int) syscall(SYS_memfd_create, "payload", 0);
        if (mfd < 0 || copy_self(mfd) < 0)
                return 1;
        try_exec("exec-memfd", NULL, mfd);
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
        try_exec("exec-proc-fd", proc, -1);
        return 0;
}

static int mode_notify(void) {
        const char *e = getenv("NOTIFY_SOCKET");
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char msg[1024] = "READY=1\nSTATUS=\033[31mREADY=1 ";
        int fd;

        if (!e || strlen(e) >= sizeof sa.sun_path)
                return 1;
        strcpy(sa.sun_path, e);
        if (sa.sun_path[0] == '@')
                sa.sun_path[0] = '\0';
        for (size_t n = strlen(msg); n < 600; n++)
                msg[n] = 'x';
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *) &sa,
                             (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(e))) < 0)
                return 1;
        return 0;
}

_Noreturn static void mode_fork_hold(void) {
        unsigned n = fork_paused_children(4096);

        printf("ready\nforked %u\n", n);
        fflush(stdout);
        for (;;)
                pause();
}

int main(int argc, char *argv[]) {
        if (argc < 2)
                return 2;
        setvbuf(stdout, NULL, _IONBF, 0);

        if (strcmp(argv[1], "status") == 0)
                return mode_status();

        if (strcmp(argv[1], "getcpu") == 0) {
                unsigned cpu, node;
                long r = syscall(SYS_getcpu, &cpu, &node, NULL);
                printf("getcpu=%d\n", r < 0 ? errno : 0);
                return 0;
        }

        if (strcmp(argv[1], "wait-term") == 0 && argc == 3) {
                term_code = atoi(argv[2]);
                signal(SIGTERM, on_term);
                printf("ready\n");
                for (;;)
                        pause();
        }

        if (strcmp(argv[1], "wait-default") == 0) {
                printf("ready\n");
                for (;;)
                        pause();
        }

        if (strcmp(argv[1], "poke-init") == 0)
                return mode_poke_init();
        if (strcmp(argv[1], "exec-written") == 0 && argc == 3)
                return mode_exec_written(argv[2]);
        if (strcmp(argv[1], "notify") == 0)
                return mode_notify();
        if (strcmp(argv[1], "fork-hold") == 0)
                mode_fork_hold();
        if (strcmp(argv[1], "orphan") == 0)
                return mode_orphan();

        /* What V8 does when it cannot get its code pages: abort by trap. */
        if (strcmp(argv[1], "trap") == 0) {
                signal(SIGTRAP, SIG_DFL);
                raise(SIGTRAP);
                return 3;
        }
        if (strcmp(argv[1], "exit-3") == 0)
                return 3;

        if (strcmp(argv[1], "marker") == 0 && argc == 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                return fd < 0 ? 1 : 0;
        }

        return 2;
}
