/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emit.h"
#include "fs-util.h"
#include "macro.h"
#include "parse-value.h"

static int emit_via_temp_name(int dir_fd, const char *name, const char *data, size_t len) {
        char tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (snprintf(tmp, sizeof tmp, ".#%s.%ld", name, (long) getpid()) >= (int) sizeof tmp)
                return -ENAMETOOLONG;
        fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return negative_errno();
        r = write_all(fd, data, len);
        if (r == 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno();
        if (r == 0 && linkat(dir_fd, tmp, dir_fd, name, 0) < 0)
                r = negative_errno();
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

int emit_file_at(int dir_fd, const char *name, const char *data, size_t len) {
        _cleanup_close_ int fd = -EBADF;
        char proc[64];
        int r;

        fd = openat(dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
        if (fd < 0) {
                if (errno == EOPNOTSUPP || errno == EISDIR || errno == ENOENT)
                        return emit_via_temp_name(dir_fd, name, data, len);
                return negative_errno();
        }
        r = write_all(fd, data, len);
        if (r < 0)
                return r;
        /* linkat() refuses to replace an existing file: no silent overwrite.
         * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH (a generator has it); the
         * /proc path works for everyone else. */
        if (linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) >= 0)
                return 0;
        if (errno != ENOENT && errno != EPERM)
                return negative_errno();
        (void) snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
        if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) < 0)
                return negative_errno();
        return 0;
}

int emit_wants_symlink_at(int dir_fd, const char *wants_dir, const char *unit) {
        char target[NAME_MAX + 8], link[PATH_MAX];

        if (STRJOIN_BUF(target, sizeof target, "../", unit) < 0 ||
            STRJOIN_BUF(link, sizeof link, wants_dir, "/", unit) < 0)
                return -ENAMETOOLONG;
        if (symlinkat(target, dir_fd, link) >= 0)
                return 0;
        if (errno != ENOENT)
                return negative_errno();
        /* First link into this directory: create it, then try again. */
        if (mkdirat(dir_fd, wants_dir, 0755) < 0 && errno != EEXIST)
                return negative_errno();
        if (symlinkat(target, dir_fd, link) < 0)
                return negative_errno();
        return 0;
}
