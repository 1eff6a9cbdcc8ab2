/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* export-policy OUTPUT.json [OUTPUT.md]: writes the agent seccomp policy as
 * an OCI/Docker seccomp profile (installed as agent-seccomp.json, for
 * podman/crun users and for review), optionally as a Markdown reference, and
 * prints a one-line size report. Runs at build time.
 *
 * export-policy --bpf OUTPUT.bpf [EXTRA…]: writes the BPF filter an agent
 * with those extra syscalls would get (what agent-runtime configure writes),
 * for tests and for inspection with seccomp-tools and the like. */

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

static char *const *bpf_extra;
static size_t bpf_n_extra;

static int write_bpf(FILE *f) {
        int r = seccomp_policy_write_bpf(bpf_extra, bpf_n_extra, 0, fileno(f));
        return r < 0 ? r : 0;
}

int main(int argc, char *argv[]) {
        log_set_prefix("export-policy");

        if (argc >= 3 && streq(argv[1], "--bpf")) {
                const char *reason = NULL;
                int r;

                for (int i = 3; i < argc; i++) {
                        r = seccomp_policy_check_extra(argv[i], &reason);
                        if (r == -EPERM) {
                                log_error("Refusing extra syscall %s: %s", argv[i], reason);
                                return 1;
                        }
                        if (r < 0) {
                                log_error_errno(r, "Unknown syscall %s: %m", argv[i]);
                                return 1;
                        }
                }
                bpf_extra = argv + 3;
                bpf_n_extra = (size_t) (argc - 3);
                return write_file(argv[2], write_bpf) < 0 ? 1 : 0;
        }

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
