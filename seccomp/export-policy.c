/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* export-policy OUTPUT.json [OUTPUT.md]: writes the agent seccomp policy as
 * an OCI/Docker seccomp profile (installed as agent-seccomp.json, for
 * podman/crun users and for review), optionally as a Markdown reference, and
 * prints a one-line size report. Runs at build time. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "policy.h"

/* Sizes of the two allow-lists people compare against: the syscall names in
 * moby's profiles/seccomp/default.json (over all its architectures), and
 * systemd 252's @system-service set with its nested groups expanded
 * (systemd-analyze syscall-filter). */
#define DOCKER_DEFAULT_N 361
#define SYSTEMD_SYSTEM_SERVICE_N 376

/* Writes path through a temporary file and rename(), so that a failed run
 * never leaves a half-written file for the next build step. */
static int write_file(const char *path, int (*writer)(FILE *f)) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;

        (void) unlink(tmp);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to create %s: %m", tmp);

        f = fdopen(fd, "w");
        if (!f) {
                r = negative_errno();
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to open %s: %m", tmp);
        }
        TAKE_FD(fd);

        r = writer(f);
        if (r >= 0 && fclose(TAKE_PTR(f)) != 0)
                r = negative_errno();
        if (r >= 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to write %s: %m", path);
        }

        return 0;
}

int main(int argc, char *argv[]) {
        log_set_prefix("export-policy");

        if (argc < 2 || argc > 3 || argv[1][0] == '-' || (argc == 3 && argv[2][0] == '-')) {
                fprintf(stderr, "Usage: export-policy OUTPUT.json [OUTPUT.md]\n");
                return 2;
        }

        if (write_file(argv[1], seccomp_policy_write_oci_json) < 0)
                return 1;
        if (argc == 3 && write_file(argv[2], seccomp_policy_write_markdown) < 0)
                return 1;

        printf("allow-list: %zu unconditional + %zu with argument filters (Docker default: %d, systemd @system-service: %d)\n",
               seccomp_policy_n_unconditional(), seccomp_policy_n_conditional(),
               DOCKER_DEFAULT_N, SYSTEMD_SYSTEM_SERVICE_N);
        return fflush(stdout) == 0 ? 0 : 1;
}
