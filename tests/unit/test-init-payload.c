/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The "agent" test-init runs under agent-init. One mode per argument:
 *   status             print the credential lines of /proc/self/status
 *   getcpu             print the errno of a raw getcpu() (the test filter
 *                      makes it fail with ENOTRECOVERABLE)
 *   wait-term CODE     print "ready", exit CODE on SIGTERM
 *   wait-default       print "ready", wait; SIGTERM kills it
 *   orphan             leave a grandchild to init, then report whether
 *                      init reaped it ("reaped") or left a zombie ("zombie")
 *   marker PATH        create PATH (proves the payload ran) */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

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

        if (strcmp(argv[1], "orphan") == 0)
                return mode_orphan();

        if (strcmp(argv[1], "marker") == 0 && argc == 3) {
                int fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                return fd < 0 ? 1 : 0;
        }

        return 2;
}
