/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates directory path with mode. Returns 1 if it was created, 0 if a
 * directory was there already, -ENOTDIR if something else (a symlink
 * included: it could move what is put there somewhere else), or -errno. */
int mkdir_no_symlink(const char *path, mode_t mode);

/* Writes all of DATA to FD, retrying on EINTR and short writes. */
int write_all(int fd, const void *data, size_t size);

/* Writes DATA to DIR/NAME through a temporary file (".#NAME.tmp", replaced if
 * a crash left one), fsync() and rename(), so readers see the old file or the
 * new one, never a partial one. MODE is applied with fchmod() (the umask does
 * not decide). Never follows a symlink. Returns 0 or -errno; does not log. */
int write_file_atomic(const char *dir, const char *name, const void *data, size_t size, mode_t mode);
/* Same, but the content is produced by writer(fd, userdata). */
int write_file_atomic_with(const char *dir, const char *name, mode_t mode,
                           int (*writer)(int fd, void *userdata), void *userdata);

/* Reads the regular file PATH (relative to DIR_FD, or AT_FDCWD) into a
 * NUL-terminated malloc()ed buffer. Never follows a symlink in the last
 * component; a file larger than MAX bytes is -EFBIG, anything but a regular
 * file -EBADFD. *ret_size (if not NULL) gets the length without the NUL.
 * Returns 0 or -errno; does not log. */
int read_file_bounded(int dir_fd, const char *path, size_t max, char **ret, size_t *ret_size);
/* The reading part of it, from an open FD: at most MAX bytes, -EFBIG past. */
int read_fd_bounded(int fd, size_t max, char **ret, size_t *ret_size);

/* A directory stream over a duplicate of DFD, which stays the caller's.
 * Returns 0 or -errno. */
int opendir_dup(int dfd, DIR **ret);
/* readdir() without "." and "..": the next entry, or NULL at the end
 * (errno 0) or on an error (errno > 0). Header-only, for the static
 * agent-init too. */
static inline struct dirent *readdir_no_dot(DIR *d) {
        struct dirent *de;

        do {
                errno = 0;
                de = readdir(d);
        } while (de && de->d_name[0] == '.' &&
                 (de->d_name[1] == '\0' || (de->d_name[1] == '.' && de->d_name[2] == '\0')));
        return de;
}

static inline void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}
