/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"

int mkdir_no_symlink(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) >= 0)
                return 1;
        if (errno != EEXIST)
                return negative_errno();
        if (lstat(path, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return 0;
}

int write_all(int fd, const void *data, size_t size) {
        const char *p = data;

        while (size > 0) {
                ssize_t k = write(fd, p, size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                size -= (size_t) k;
        }
        return 0;
}

struct data_span {
        const void *data;
        size_t size;
};

static int span_writer(int fd, void *userdata) {
        const struct data_span *s = userdata;
        return write_all(fd, s->data, s->size);
}

int write_file_atomic(const char *dir, const char *name, const void *data, size_t size, mode_t mode) {
        struct data_span s = { data, size };
        return write_file_atomic_with(dir, name, mode, span_writer, &s);
}

int write_file_atomic_with(const char *dir, const char *name, mode_t mode,
                           int (*writer)(int fd, void *userdata), void *userdata) {
        _cleanup_close_ int dfd = -EBADF, fd = -EBADF;
        char tmp[64];
        int r;

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();

        /* A fixed temp name in a root-only directory: a leftover of a crash is
         * simply replaced (O_EXCL after unlink), never followed. */
        r = snprintf(tmp, sizeof tmp, ".#%.40s.tmp", name);
        if (r < 0 || (size_t) r >= sizeof tmp)
                return -ENAMETOOLONG;
        (void) unlinkat(dfd, tmp, 0);

        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();

        r = writer(fd, userdata);
        if (r >= 0 && fchmod(fd, mode) < 0)
                r = negative_errno();
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && close(TAKE_FD(fd)) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dfd, tmp, dfd, name) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlinkat(dfd, tmp, 0);
                return r;
        }
        return 0;
}

int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_size) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;

        buf = malloc(max + 1);
        if (!buf)
                return -ENOMEM;
        /* Read one byte past MAX: a file that grew since fstat() is caught. */
        while (len <= max) {
                ssize_t k = read(fd, buf + len, max + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len > max)
                return -EFBIG;
        buf[len] = '\0';
        if (ret_size)
                *ret_size = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_file_bounded(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = openat(dir_fd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        return read_fd_bounded(fd, max, ret, ret_size);
}

int opendir_dup(int dfd, DIR **ret) {
        int fd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d;

        if (fd2 < 0)
                return negative_errno();
        d = fdopendir(fd2);
        if (!d) {
                int r = negative_errno();
                (void) close(fd2);
                return r;
        }
        *ret = d;
        return 0;
}
