/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Running skopeo, umoci, mksquashfs and the scan hook (oci.h). */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "oci.h"

static _noreturn_ void child(const OciCommand *c, int out_fd) {
        static char *const env[] = {
                (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                (char *) "LANG=C.UTF-8",
                (char *) "HOME=/nonexistent",
                NULL,
        };
        struct rlimit fsize = { OCI_FILE_SIZE_MAX, OCI_FILE_SIZE_MAX };
        int null_fd;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(out_fd, STDOUT_FILENO) < 0 ||
            dup2(out_fd, STDERR_FILENO) < 0)
                _exit(127);
        if (c->cwd_fd >= 0 ? fchdir(c->cwd_fd) < 0 : chdir("/") < 0)
                _exit(127);
        (void) setrlimit(RLIMIT_FSIZE, &fsize);
        /* Whatever the caller's umask (agentctl's is 0077), the layout skopeo
         * writes must be readable by the unpacking uid. */
        umask(0022);
        if (c->unprivileged) {
                /* The directory was entered as root; from here on only what
                 * OCI_UNPACK_UID may touch can be touched. */
                /* Nor anything to talk to: unpacking needs no network. */
                if (unshare(CLONE_NEWNET) < 0)
                        _exit(127);
                if (setgroups(0, NULL) < 0 || setresgid(OCI_UNPACK_UID, OCI_UNPACK_UID, OCI_UNPACK_UID) < 0 ||
                    setresuid(OCI_UNPACK_UID, OCI_UNPACK_UID, OCI_UNPACK_UID) < 0)
                        _exit(127);
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(127);
        }
        execve(c->argv[0], c->argv, env);
        _exit(127);
}

static uint64_t now_ms(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

/* Reads until EOF or the deadline; keeps the first OCI_OUTPUT_MAX bytes. */
static int drain(int fd, char *buf, size_t *len, uint64_t deadline) {
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                uint64_t now = now_ms();
                char tmp[4096];
                ssize_t k;
                int n;

                if (now >= deadline)
                        return -ETIMEDOUT;
                n = poll(&p, 1, (int) MIN(deadline - now, 60000ULL));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        continue;
                k = read(fd, tmp, sizeof tmp);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        return 0;
                for (ssize_t i = 0; i < k && *len < OCI_OUTPUT_MAX; i++) {
                        unsigned char ch = (unsigned char) tmp[i];
                        buf[(*len)++] = ch == '\n' || ch == '\t' || (ch >= 0x20 && ch != 0x7f) ? (char) ch : '?';
                }
        }
}

int oci_run(const OciCommand *c, char **ret_output) {
        _cleanup_free_ char *buf = NULL;
        int fds[2], status = 0, r;
        size_t len = 0;
        pid_t pid;

        buf = malloc(OCI_OUTPUT_MAX + 1);
        if (!buf)
                return -ENOMEM;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                r = negative_errno();
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                close(fds[0]);
                child(c, fds[1]);
        }
        close(fds[1]);
        r = drain(fds[0], buf, &len, now_ms() + OCI_COMMAND_TIMEOUT_SEC * 1000ULL);
        close(fds[0]);
        if (r < 0)
                (void) kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return negative_errno();
        if (r < 0)
                return r;
        /* Trailing newlines are noise in a log line. */
        while (len > 0 && buf[len - 1] == '\n')
                len--;
        buf[len] = '\0';
        if (ret_output)
                *ret_output = TAKE_PTR(buf);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}
