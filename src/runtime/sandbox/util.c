/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by configure and recycle: where the state lives, name
 * checks, atomic file writes and unmounting. */

#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"
#include "runtime.h"

const char *runtime_root(void) {
        const char *e = getenv("AGENTCAGE_RUNTIME_DIR");

        if (!e || !*e)
                return AGENT_RUNTIME_ROOT_DEFAULT;
        if (e[0] != '/' || strstr(e, "/../") || strlen(e) > 512) {
                log_warning("Ignoring AGENTCAGE_RUNTIME_DIR=%s: not a plain absolute path.", e);
                return AGENT_RUNTIME_ROOT_DEFAULT;
        }
        return e;
}

static int write_all(int fd, const void *data, size_t size) {
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

struct buffer {
        const void *data;
        size_t size;
};

static int buffer_writer(int fd, void *userdata) {
        const struct buffer *b = userdata;
        return write_all(fd, b->data, b->size);
}

int write_file_atomic(const char *dir, const char *name, const void *data, size_t size, mode_t mode) {
        struct buffer b = { data, size };
        return write_file_atomic_with(dir, name, mode, buffer_writer, &b);
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
        if (r >= 0 && fchmod(fd, mode) < 0) /* umask must not decide */
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

int path_is_mount_point(const char *path) {
        struct statx sx = {};

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0)
                return negative_errno();
        if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -EOPNOTSUPP; /* kernel < 5.8; not a target of ours */
        return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static int umount_one(const char *path) {
        struct libmnt_context *cxt;
        int r;

        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* No /sbin/umount.* helpers and no utab bookkeeping: we unmount what
         * we mounted ourselves, by path. */
        (void) mnt_context_disable_helpers(cxt, 1);
        r = mnt_context_set_target(cxt, path);
        if (r >= 0)
                r = mnt_context_umount(cxt);
        if (r > 0) /* umount(2) failed: libmount returns the errno as positive */
                r = -r;
        else if (r < 0 && mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt) > 0)
                r = -mnt_context_get_syscall_errno(cxt);
        mnt_free_context(cxt);
        return r;
}

int umount_recursive(const char *path, const char *what) {
        int n = 0, r;

        /* Mounts may be stacked (a restart that raced a leftover); peel them
         * off one by one, with a bound so a weird state cannot loop forever. */
        for (int i = 0; i < 16; i++) {
                r = path_is_mount_point(path);
                if (r == -ENOENT || r == 0)
                        return n;
                if (r < 0)
                        return log_error_errno(r, "Failed to check whether %s (%s) is mounted: %m", path, what);

                r = umount_one(path);
                if (r == -EBUSY) {
                        /* Something still holds it open (a process that escaped
                         * the unit?): detach it from the tree so nothing new can
                         * reach it; the kernel frees it when the last user goes. */
                        log_warning("%s (%s) is busy, detaching it lazily.", path, what);
                        if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                                r = negative_errno();
                        else
                                r = 0;
                }
                if (r < 0)
                        return log_error_errno(r, "Failed to unmount %s (%s): %m", path, what);
                log_debug("Unmounted %s (%s).", path, what);
                n++;
        }
        return log_error_errno(-ELOOP, "Too many mounts stacked on %s (%s), giving up.", path, what);
}

/* 1 if our namespace of TYPE ("mnt", "ipc") is PID 1's, 0 if not, -errno. */
static int same_namespace_as_pid1(const char *type) {
        char self[64], init[64];
        struct stat a, b;

        (void) snprintf(self, sizeof self, "/proc/self/ns/%s", type);
        (void) snprintf(init, sizeof init, "/proc/1/ns/%s", type);
        if (stat(self, &a) < 0 || stat(init, &b) < 0)
                return negative_errno();
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int join_host_namespaces(bool mount) {
        static const struct {
                const char *type;
                int flag;
        } ns[] = {
                { "ipc", CLONE_NEWIPC },
                { "mnt", CLONE_NEWNS },
        };
        int r;

        /* Only under systemd: a test (or an admin) running us by hand in a
         * namespace of their own means it. */
        if (!getenv("INVOCATION_ID"))
                return 0;

        for (size_t i = 0; i < ELEMENTSOF(ns); i++) {
                _cleanup_close_ int fd = -EBADF;
                char p[64];

                if (ns[i].flag == CLONE_NEWNS && !mount)
                        continue;

                r = same_namespace_as_pid1(ns[i].type);
                if (r < 0)
                        return log_error_errno(r, "Failed to compare our %s namespace with PID 1's: %m", ns[i].type);
                if (r > 0)
                        continue;

                (void) snprintf(p, sizeof p, "/proc/1/ns/%s", ns[i].type);
                fd = open(p, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(negative_errno(), "Failed to open %s: %m", p);
                if (setns(fd, ns[i].flag) < 0)
                        return log_error_errno(negative_errno(),
                                               "Failed to join the host's %s namespace (%s): %m", ns[i].type,
                                               ns[i].flag == CLONE_NEWIPC ?
                                               "libdevmapper talks to udev through SysV semaphores there" :
                                               "the mounts must be made where systemd-nspawn sees them");
                log_debug("Joined the host's %s namespace.", ns[i].type);
        }
        return 0;
}
