/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Reading and loading a filter written by seccomp_policy_write_bpf(). Kept
 * apart from policy.c and free of libseccomp: the static agent-init compiles
 * this file too, so the tests exercise the loader production uses. */

#include <errno.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "load.h"
#include "macro.h"

/* Reads exactly the whole file into buf; a file larger than size is refused. */
static int read_all(int fd, void *buf, size_t size, size_t *ret_len) {
        size_t len = 0;

        for (;;) {
                ssize_t n;

                if (len == size) {
                        /* Full: there must be nothing more to read. */
                        uint8_t probe;

                        n = read(fd, &probe, 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return negative_errno();
                        if (n > 0)
                                return -EFBIG;
                        break;
                }

                n = read(fd, (uint8_t *) buf + len, size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        break;
                len += (size_t) n;
        }

        *ret_len = len;
        return 0;
}

int seccomp_program_read_fd(int fd, SeccompProgram *ret) {
        size_t len;
        int r;

        if (fd < 0 || !ret)
                return -EBADF;

        r = read_all(fd, ret->insns, sizeof ret->insns, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        if (len == 0 || len % sizeof(struct sock_filter) != 0)
                return -EBADMSG;
        ret->len = (unsigned short) (len / sizeof(struct sock_filter));
        return 0;
}

int seccomp_program_load(const SeccompProgram *p) {
        struct sock_fprog prog;

        if (!p || p->len == 0)
                return -EINVAL;
        prog = (struct sock_fprog) {
                .len = p->len,
                .filter = (struct sock_filter *) p->insns,
        };

        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
                return 0;
        if (errno != ENOSYS)
                return negative_errno();

        /* Kernels before 3.17 have only the prctl() interface. */
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
                return negative_errno();
        return 0;
}

int seccomp_policy_load_bpf_fd(int fd) {
        /* 32 KiB: static, so that a caller about to drop everything needs no
         * allocation. */
        static SeccompProgram program;
        int r;

        r = seccomp_program_read_fd(fd, &program);
        if (r < 0)
                return r;
        return seccomp_program_load(&program);
}
