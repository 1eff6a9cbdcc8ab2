/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Small helpers shared by provision, configure and recycle: the one way to
 * mount and unmount (libmount), and joining the host's namespaces. */

#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "configure.h"
#include "fs-util.h"
#include "log.h"
#include "runtime.h"

int path_is_mount_point(const char *path) {
        struct statx sx = {};

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0)
                return negative_errno();
        if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -EOPNOTSUPP; /* kernel < 5.8; not a target of ours */
        return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Turns libmount's ways of failing into one -errno, and its message into MSG. */
static int mnt_context_errno(struct libmnt_context *cxt, int r, char *msg, size_t msg_size) {
        int e = mnt_context_syscall_called(cxt) ? mnt_context_get_syscall_errno(cxt) : 0;

        if (msg && msg_size > 0)
                (void) mnt_context_get_excode(cxt, r, msg, msg_size);
        if (e > 0)
                return -e;
        if (r < 0)
                return r;
        return -EINVAL; /* a libmount MNT_ERR_* code */
}

int mount_libmount(const char *source, const char *target, const char *fstype, const char *options,
                   char *msg, size_t msg_size) {
        struct libmnt_context *cxt;
        int r;

        if (msg && msg_size > 0)
                msg[0] = '\0';
        cxt = mnt_new_context();
        if (!cxt)
                return -ENOMEM;
        /* No /sbin/mount.* helpers, no fstab, no utab: exactly this mount. */
        (void) mnt_context_disable_helpers(cxt, 1);
        (void) mnt_context_disable_mtab(cxt, 1);
        (void) mnt_context_set_optsmode(cxt, MNT_OMODE_NOTAB);
        r = mnt_context_set_source(cxt, source);
        if (r >= 0 && fstype)
                r = mnt_context_set_fstype(cxt, fstype);
        if (r >= 0)
                r = mnt_context_set_target(cxt, target);
        if (r >= 0)
                r = mnt_context_set_options(cxt, options);
        if (r >= 0)
                r = mnt_context_mount(cxt);
        if (r != 0 || mnt_context_get_status(cxt) != 1)
                r = mnt_context_errno(cxt, r, msg, msg_size);
        mnt_free_context(cxt);
        return r;
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
        (void) mnt_context_disable_mtab(cxt, 1);
        r = mnt_context_set_target(cxt, path);
        if (r >= 0)
                r = mnt_context_umount(cxt);
        if (r != 0)
                r = mnt_context_errno(cxt, r, NULL, 0);
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

/* kstrtobool(), as the kernel reads init_on_free=. */
static int kernel_bool(const char *v, size_t n) {
        if (n == 0)
                return -EINVAL;
        if (strchr("1yY", v[0]) || (n == 2 && strncasecmp(v, "on", 2) == 0))
                return 1;
        if (strchr("0nN", v[0]) || (n == 3 && strncasecmp(v, "off", 3) == 0))
                return 0;
        return -EINVAL;
}

int kernel_zeroes_freed_pages(const char *cmdline, const char *kconfig) {
        int on = -1;

        /* The last init_on_free= wins, as in the kernel; "--" ends its part. */
        for (const char *p = cmdline; p && *p;) {
                size_t n;

                p += strspn(p, " \t\n");
                n = strcspn(p, " \t\n");
                if (n == 2 && strncmp(p, "--", 2) == 0)
                        break;
                if (n > 13 && strncmp(p, "init_on_free=", 13) == 0) {
                        int b = kernel_bool(p + 13, n - 13);
                        if (b >= 0)
                                on = b;
                }
                p += n;
        }
        if (on >= 0)
                return on;
        return kconfig && strstr(kconfig, "\nCONFIG_INIT_ON_FREE_DEFAULT_ON=y\n") ? 1 : 0;
}

int memory_wipe_check(void) {
        _cleanup_free_ char *cmdline = NULL, *kconfig = NULL, *path = NULL;
        const char *override = getenv("AGENTCAGE_ALLOW_UNZEROED_FREE");
        struct utsname u;
        int r;

        r = read_file_bounded(AT_FDCWD, "/proc/cmdline", 64 * 1024, &cmdline, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read /proc/cmdline: %m");
        if (uname(&u) >= 0 && asprintf(&path, "/boot/config-%s", u.release) >= 0)
                (void) read_file_bounded(AT_FDCWD, path, 4 * 1024 * 1024, &kconfig, NULL);
        if (kernel_zeroes_freed_pages(cmdline, kconfig) > 0)
                return 0;
        if (override && streq(override, "1")) {
                log_warning("The kernel does not zero freed memory (no init_on_free=1): what this agent leaves in "
                            "RAM (its secrets, /tmp, the plaintext of its workspace) may outlive it until the pages "
                            "are reused. Allowed by the site (AGENTCAGE_ALLOW_UNZEROED_FREE=1).");
                return 0;
        }
        return log_error_errno(-EPERM, "The kernel does not zero freed memory: boot it with init_on_free=1, or allow "
                               "this explicitly with Environment=AGENTCAGE_ALLOW_UNZEROED_FREE=1 in a drop-in for "
                               "agent@.service (README, \"The data promise\"). Refusing to start the agent.");
}
