/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's /tmp: a size-limited tmpfs at $RUNTIME/NAME/tmp, bind-mounted
 * by the unit. nspawn's own --tmpfs= would be exec-able and unbounded but for
 * the memory limit; ours is nosuid,nodev,noexec with an explicit size. Its
 * pages are charged to the memory cgroup of the writer, the agent's unit. */

#include <errno.h>
#include <fcntl.h>
#include <libmount.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"

int tmp_setup(const char *dir, uint64_t size, uid_t root_uid) {
        struct libmnt_context *cxt;
        char opts[128];
        int r;

        if (size < TMP_SIZE_MIN || size > TMP_SIZE_MAX || size % 4096 != 0)
                return log_error_errno(-EINVAL, "Invalid /tmp size %llu.", (unsigned long long) size);
        if (mkdir(dir, 0700) < 0)
                return log_error_errno(negative_errno(), "Failed to create %s: %m", dir);

        /* The agent's "root" (BASE) owns /tmp, sticky and world-writable like
         * any /tmp, so every uid of the agent can use it and none can remove
         * another's files. */
        (void) snprintf(opts, sizeof opts, "nosuid,nodev,noexec,size=%llu,mode=1777,uid=%u,gid=%u",
                        (unsigned long long) size, (unsigned) root_uid, (unsigned) root_uid);

        cxt = mnt_new_context();
        if (!cxt) {
                (void) rmdir(dir);
                return log_oom();
        }
        (void) mnt_context_disable_helpers(cxt, 1);
        r = mnt_context_set_source(cxt, "agentcage-tmp");
        if (r >= 0)
                r = mnt_context_set_fstype(cxt, "tmpfs");
        if (r >= 0)
                r = mnt_context_set_target(cxt, dir);
        if (r >= 0)
                r = mnt_context_set_options(cxt, opts);
        if (r >= 0)
                r = mnt_context_mount(cxt);
        if (r != 0 && mnt_context_syscall_called(cxt) && mnt_context_get_syscall_errno(cxt) > 0)
                r = -mnt_context_get_syscall_errno(cxt);
        else if (r > 0)
                r = -EINVAL;
        mnt_free_context(cxt);
        if (r < 0) {
                (void) rmdir(dir);
                return log_error_errno(r, "Failed to mount a tmpfs of %llu bytes at %s: %m",
                                       (unsigned long long) size, dir);
        }
        return 0;
}

int tmp_remove(const char *dir) {
        int r;

        r = umount_recursive(dir, "/tmp of the agent");
        if (r < 0)
                return r;
        if (rmdir(dir) < 0) {
                if (errno == ENOENT)
                        return r > 0;
                return log_error_errno(negative_errno(), "Failed to remove %s: %m", dir);
        }
        log_debug("Removed %s.", dir);
        return 1;
}
