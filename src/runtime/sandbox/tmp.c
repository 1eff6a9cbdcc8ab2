/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The agent's /tmp: a size-limited tmpfs at $RUNTIME/NAME/tmp, bind-mounted
 * by the unit. nspawn's own --tmpfs= would be exec-able and unbounded but for
 * the memory limit; ours is nosuid,nodev,noexec with an explicit size. Its
 * pages are charged to the memory cgroup of the writer, the agent's unit. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"

int tmp_setup(const char *dir, uint64_t size, uid_t root_uid) {
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

        r = mount_libmount("agentcage-tmp", dir, "tmpfs", opts, NULL, 0);
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
