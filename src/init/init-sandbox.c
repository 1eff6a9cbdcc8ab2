/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Privileges, AppArmor and Landlock for agent-init (see agent-init.c). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/landlock.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "capability-table.h"
#include "fs-util.h"
#include "init-sandbox.h"
#include "log.h"
#include "macro.h"

#ifndef SYS_landlock_create_ruleset
#  define SYS_landlock_create_ruleset 444
#  define SYS_landlock_add_rule 445
#  define SYS_landlock_restrict_self 446
#endif

#define CAP_MASK(c) (UINT64_C(1) << (c))

static int capset_sets(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct d[2] = {};

        for (int i = 0; i < 2; i++)
                d[i] = (struct __user_cap_data_struct) {
                        .effective = (uint32_t) (effective >> (32 * i)),
                        .permitted = (uint32_t) (permitted >> (32 * i)),
                        .inheritable = (uint32_t) (inheritable >> (32 * i)),
                };
        return syscall(SYS_capset, &h, d) < 0 ? negative_errno() : 0;
}

/* Every capability the kernel knows, which may be more than the table knows
 * names for: ask until it says EINVAL. */
static int bounding_set_keep(uint64_t keep) {
        for (unsigned long cap = 0; cap < 64; cap++) {
                int r = prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
                if (r < 0 && errno == EINVAL)
                        break;
                if (r < 0)
                        return log_error_errno(negative_errno(), "Failed to read bounding capability %lu: %m", cap);
                if (r == 0 || (keep & CAP_MASK(cap)))
                        continue;
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
                        return log_error_errno(negative_errno(), "Failed to drop capability %lu from the bounding set: %m", cap);
        }
        return 0;
}

int supervisor_drop_privileges(uint64_t agent_keep) {
        uint64_t mine = CAP_MASK(CAP_SETUID) | CAP_MASK(CAP_SETGID) | CAP_MASK(CAP_KILL);
        int r;

        if (setgroups(0, NULL) < 0)
                return log_error_errno(negative_errno(), "Failed to drop supplementary groups: %m");
        r = bounding_set_keep(agent_keep);
        if (r < 0)
                return r;
        /* CAP_SETPCAP goes now: the bounding set is final. */
        r = capset_sets(mine | agent_keep, mine | agent_keep, agent_keep);
        if (r < 0)
                return log_error_errno(r, "Failed to keep only CAP_SETUID, CAP_SETGID and CAP_KILL%s: %m",
                                       r == -EPERM ? " (does the container grant them?)" : "");
        /* No core dumps, and /proc/1 stays root's even where uids alone would
         * not decide. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return log_error_errno(negative_errno(), "Failed to make PID 1 non-dumpable: %m");
        return 0;
}

int agent_drop_privileges(uid_t uid, uint64_t keep) {
        gid_t gid = (gid_t) uid;
        int r;

        if (setresgid(gid, gid, gid) < 0)
                return log_error_errno(negative_errno(), "Failed to change to gid %u: %m", (unsigned) gid);
        if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return log_error_errno(negative_errno(), "Failed to set PR_SET_KEEPCAPS: %m");
        if (setresuid(uid, uid, uid) < 0)
                return log_error_errno(negative_errno(), "Failed to change to uid %u: %m", (unsigned) uid);
        if (keep != 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
                return log_error_errno(negative_errno(), "Failed to clear PR_SET_KEEPCAPS: %m");

        /* Permitted, effective and inheritable become exactly the kept set
         * (the inheritable set survives setresuid() otherwise) … */
        r = capset_sets(keep, keep, keep);
        if (r < 0)
                return log_error_errno(r, "Failed to set capabilities: %m");
        /* … and the kept ones become ambient, so they survive the exec of an
         * ordinary, capability-less binary. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
                return log_error_errno(negative_errno(), "Failed to clear the ambient capabilities: %m");
        for (unsigned long cap = 0; cap < 64; cap++)
                if ((keep & CAP_MASK(cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
                        return log_error_errno(negative_errno(), "Failed to raise ambient capability %lu: %m", cap);
        return 0;
}

/* Asked through /proc, which a container always has: /sys/module is not
 * there inside systemd-nspawn's user namespace, so it cannot tell "off" from
 * "hidden". With AppArmor active the current label reads "unconfined" or a
 * profile; without any LSM behind it the attribute cannot be read at all. */
int apparmor_enabled(void) {
        static const char *const paths[] = { "/proc/self/attr/apparmor/current", "/proc/self/attr/current" };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
                char buf[256];
                ssize_t n;

                if (fd < 0) {
                        if (errno == ENOENT)
                                continue;
                        if (errno == EINVAL || errno == EOPNOTSUPP)
                                return 0;
                        return negative_errno();
                }
                n = read(fd, buf, sizeof buf - 1);
                if (n < 0)
                        return errno == EINVAL || errno == EOPNOTSUPP ? 0 : negative_errno();
                buf[n] = '\0';
                /* The generic attribute may belong to another LSM (SELinux
                 * labels contain ':'); AppArmor's own file is unambiguous. */
                if (i == 0)
                        return n > 0;
                return n > 0 && !strchr(buf, ':');
        }
        return 0;
}

int apparmor_set_exec_profile(const char *profile) {
        static const char *const paths[] = { "/proc/self/attr/apparmor/exec", "/proc/self/attr/exec" };
        char cmd[128];
        int r = -ENOENT, n;

        n = snprintf(cmd, sizeof cmd, "exec %s", profile);
        if (n < 0 || (size_t) n >= sizeof cmd)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_close_ int fd = open(paths[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0) {
                        r = negative_errno();
                        if (r == -ENOENT)
                                continue; /* older kernels only have the second */
                        return r;
                }
                if (write(fd, cmd, (size_t) n) != (ssize_t) n)
                        return negative_errno();
                return 0;
        }
        return r;
}

static int ruleset_allow(int ruleset_fd, int parent_fd, const char *name) {
        struct landlock_path_beneath_attr attr = { .allowed_access = LANDLOCK_ACCESS_FS_EXECUTE };
        _cleanup_close_ int fd = openat(parent_fd, name, O_PATH | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
                return negative_errno();
        attr.parent_fd = fd;
        if (syscall(SYS_landlock_add_rule, ruleset_fd, LANDLOCK_RULE_PATH_BENEATH, &attr, 0) < 0)
                return negative_errno();
        return 0;
}

/* The mount a path is on: its mount ID where the kernel says (5.8+), else
 * its device. A bind mount of another directory of the same file system
 * (/shared) has the same device but another mount ID. */
static int mount_of(int dirfd, const char *name, uint64_t *ret_id, mode_t *ret_mode) {
        struct statx sx;

        if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH), STATX_MNT_ID | STATX_TYPE, &sx) < 0)
                return negative_errno();
        *ret_mode = sx.stx_mode;
        *ret_id = (sx.stx_mask & STATX_MNT_ID) ? sx.stx_mnt_id
                                               : ((uint64_t) 1 << 63) | ((uint64_t) sx.stx_dev_major << 32) | sx.stx_dev_minor;
        return 0;
}

/* Adds what lies directly under / on /'s own mount. */
static int ruleset_add_image(int ruleset_fd) {
        _cleanup_close_ int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        uint64_t root_id, id;
        mode_t mode;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (root < 0 || mount_of(root, "", &root_id, &mode) < 0)
                return log_error_errno(negative_errno(), "Failed to open /: %m");
        d = fdopendir(dup(root));
        if (!d)
                return log_error_errno(negative_errno(), "Failed to read /: %m");
        while ((de = readdir_no_dot(d))) {
                if (mount_of(root, de->d_name, &id, &mode) < 0)
                        continue;
                /* A mount point is not the image's: /tmp, /workspace, /run,
                 * /dev (and /dev/shm), /proc, /sys, /shared. */
                if (id != root_id || !(S_ISDIR(mode) || S_ISREG(mode)))
                        continue;
                r = ruleset_allow(ruleset_fd, root, de->d_name);
                if (r < 0) {
                        log_error_errno(r, "Failed to allow execution beneath /%s: %m", de->d_name);
                        break;
                }
        }
        closedir(d);
        return r;
}

int exec_ruleset_new(char *const *extra, size_t n_extra) {
        struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE };
        _cleanup_close_ int fd = -EBADF;
        long abi;
        int r;

        abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
        if (abi < 0)
                return log_error_errno(errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : negative_errno(),
                                       "Landlock is not available (%m): code the agent writes could be executed.");
        fd = (int) syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to create a Landlock ruleset: %m");
        r = ruleset_add_image(fd);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_extra; i++) {
                r = ruleset_allow(fd, AT_FDCWD, extra[i]);
                if (r < 0)
                        return log_error_errno(r, "Failed to allow execution beneath %s: %m", extra[i]);
        }
        return TAKE_FD(fd);
}

int exec_ruleset_apply(int ruleset_fd) {
        if (syscall(SYS_landlock_restrict_self, ruleset_fd, 0) < 0)
                return negative_errno();
        return 0;
}
