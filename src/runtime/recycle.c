/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recycle, the ExecStopPost= of agent@NAME.service (agent-runtime recycle --name=NAME).
 * It runs after every kind of stop (clean exit, failure, TTL, SIGKILL) and
 * after a start that failed half-way, so every step tolerates "was never
 * made" and "already gone". configure calls the same code to clear leftovers
 * before a start and to undo a failed one: there is one teardown path. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-state.h"
#include "configure.h"
#include "fs-util.h"
#include "log.h"
#include "runtime.h"

/* Removes everything below DFD without ever crossing into another mount: a
 * mount we failed to take down (an image, a workspace) must never be
 * emptied by a recursive delete. Returns -EBUSY when it met a mount. */
static int remove_below(int dfd, const char *path) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = opendir_dup(dfd, &d);
        if (r < 0)
                return r;
        while ((de = readdir_no_dot(d))) {
                struct statx sx = {};
                int q = 0;

                if (statx(dfd, de->d_name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0) {
                        if (errno != ENOENT && r == 0)
                                r = negative_errno();
                        continue;
                }
                if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
                        log_error("%s/%s is still a mount point, not removing it.", path, de->d_name);
                        if (r == 0)
                                r = -EBUSY;
                        continue;
                }
                if (S_ISDIR(sx.stx_mode)) {
                        _cleanup_close_ int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_free_ char *subpath = NULL;

                        if (sub < 0)
                                q = negative_errno();
                        else if (asprintf(&subpath, "%s/%s", path, de->d_name) < 0)
                                q = -ENOMEM;
                        else
                                q = remove_below(sub, subpath);
                        if (q >= 0 && unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0)
                                q = negative_errno();
                } else if (unlinkat(dfd, de->d_name, 0) < 0)
                        q = negative_errno();
                if (q < 0 && q != -ENOENT && r == 0)
                        r = q;
        }
        if (errno > 0 && r == 0)
                r = -errno;
        return r;
}

static int remove_file(const char *dir, const char *name, const char *what) {
        _cleanup_free_ char *p = NULL;

        if (asprintf(&p, "%s/%s", dir, name) < 0)
                return log_oom();
        if (unlink(p) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return 0;
                return log_error_errno(negative_errno(), "Failed to remove %s (%s): %m", p, what);
        }
        log_debug("Removed %s (%s).", p, what);
        return 1;
}

int agent_teardown(const char *name, bool full) {
        _cleanup_free_ char *dir = NULL, *ws = NULL, *sec = NULL, *img = NULL, *tmp = NULL;
        int r, ret = 0;

#define KEEP_FIRST(x) do { int _x_ = (x); if (_x_ < 0 && ret == 0) ret = _x_; } while (0)

        if (!agent_name_is_valid(name))
                return log_error_errno(-EINVAL, "Invalid agent name '%s'.", name);
        if (agent_state_path(name, NULL, &dir) < 0 ||
            agent_state_path(name, AGENT_STATE_WORKSPACE_DIR, &ws) < 0 ||
            agent_state_path(name, AGENT_STATE_SECRETS_DIR, &sec) < 0 ||
            agent_state_path(name, AGENT_STATE_ROOT_DIR, &img) < 0 ||
            agent_state_path(name, AGENT_STATE_TMP_DIR, &tmp) < 0)
                return log_oom();

        /* The workspace first: it is the only thing holding the agent's data,
         * and its key must go even if later steps fail. */
        KEEP_FIRST(workspace_teardown(name, ws));
        KEEP_FIRST(secrets_remove(sec));
        KEEP_FIRST(tmp_remove(tmp));
        KEEP_FIRST(remove_file(dir, AGENT_STATE_INFO, "agent state"));
        KEEP_FIRST(remove_file(dir, ".#" AGENT_STATE_INFO ".tmp", "unfinished write"));
        KEEP_FIRST(remove_file(dir, AGENT_STATE_SECCOMP, "seccomp filter"));
        KEEP_FIRST(remove_file(dir, ".#" AGENT_STATE_SECCOMP ".tmp", "unfinished write"));

        if (!full)
                return ret;

        r = umount_recursive(img, "agent image");
        KEEP_FIRST(r);
        if (r >= 0) {
                if (rmdir(img) >= 0)
                        log_debug("Removed %s.", img);
                else if (errno != ENOENT)
                        KEEP_FIRST(log_error_errno(negative_errno(), "Failed to remove %s: %m", img));
        }

        /* Only now the directory itself, and nothing below a mount point. */
        {
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0 && errno != ENOENT)
                        KEEP_FIRST(log_error_errno(negative_errno(), "Failed to open %s: %m", dir));
                else if (dfd >= 0) {
                        r = remove_below(dfd, dir);
                        if (r < 0)
                                KEEP_FIRST(log_error_errno(r, "Failed to empty %s: %m", dir));
                        else if (rmdir(dir) < 0)
                                KEEP_FIRST(log_error_errno(negative_errno(), "Failed to remove %s: %m", dir));
                        else
                                log_debug("Removed %s.", dir);
                }
        }
#undef KEEP_FIRST
        return ret;
}

int runtime_recycle(const char *name) {
        int r;

        r = join_host_namespaces(/* mount= */ true);
        if (r < 0)
                return r;
        r = agent_teardown(name, true);
        if (r < 0)
                return log_error_errno(r, "Recycling agent %s left something behind (see above).", name);
        log_info("Recycled agent %s.", name);
        return 0;
}

int verb_recycle(int argc, char *argv[]) {
        _cleanup_(runtime_config_done) RuntimeConfig c = {};
        int r;

        r = runtime_config_parse_argv(RUNTIME_VERB_RECYCLE, argc, argv, &c);
        if (r <= 0)
                return r;
        return runtime_recycle(c.name);
}
