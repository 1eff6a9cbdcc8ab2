/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configure, the second step of an agent's start: leases the agent's
 * user-namespace range, compiles its seccomp filter, stages its secrets, sets
 * up its /tmp and its encrypted volatile workspace under the state directory
 * (agent-state.h), and hands the shared state directory to the agent's uid
 * (docs/DESIGN.md, "The runtime contract"). Every start configures afresh:
 * leftovers of a previous run are torn down first, and a failure undoes
 * everything this run made. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "agent-state.h"
#include "fs-util.h"
#include "log.h"
#include "policy.h"
#include "runtime.h"

int shared_state_check(const char *dir) {
        _cleanup_free_ char *real = NULL;
        const char *why = NULL;
        struct stat st;

        if (lstat(dir, &st) < 0)
                return log_error_errno(negative_errno(), "Shared state directory %s: %m", dir);
        if (S_ISLNK(st.st_mode))
                return log_error_errno(-ELOOP, "Shared state directory %s is a symlink, refusing.", dir);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(-ENOTDIR, "Shared state directory %s is not a directory, refusing.", dir);
        /* No symlink anywhere on the way either: the bind mount must land
         * where the admin meant, below /var/lib/agents/. */
        real = realpath(dir, NULL);
        if (!real)
                return log_error_errno(negative_errno(), "Failed to resolve shared state directory %s: %m", dir);
        if (!streq(real, dir))
                return log_error_errno(-ELOOP, "Shared state directory %s resolves to %s, refusing.", dir, real);
        if (shared_state_path_check(real, &why) < 0)
                return log_error_errno(-EPERM, "Shared state directory %s: %s, refusing.", dir, why);
        return 0;
}

static int check_syscalls(const RuntimeConfig *a) {
        for (size_t i = 0; i < a->n_syscalls; i++) {
                const char *reason = NULL;
                int r = seccomp_policy_check_extra(a->syscalls[i], &reason);
                if (r == -EPERM)
                        return log_error_errno(r, "System call '%s' may not be allowed for agents: %s", a->syscalls[i],
                                               strempty(reason));
                if (r < 0)
                        return log_error_errno(r, "System call '%s' is not known on this architecture.", a->syscalls[i]);
        }
        return 0;
}

struct bpf_writer {
        char *const *extra;
        size_t n;
        SeccompPolicyFlags flags;
};

static int bpf_write(int fd, void *userdata) {
        struct bpf_writer *w = userdata;
        return seccomp_policy_write_bpf(w->extra, w->n, w->flags, fd);
}

/* The shared state belongs to the agent's uid alone: 0700, owned by its
 * host uid, which stays the same across restarts (the lease is kept). */
static int shared_state_own(const char *dir, uid_t owner) {
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open shared state directory %s: %m", dir);
        if (fchown(fd, owner, owner) < 0 || fchmod(fd, 0700) < 0)
                return log_error_errno(negative_errno(), "Failed to hand shared state directory %s to uid %u: %m",
                                       dir, (unsigned) owner);
        return 0;
}

static int lease_range(const char *name, uint32_t *ret) {
        _cleanup_free_ char *lease_dir = NULL;
        UsernsPool pool;
        bool reused;
        int r;

        r = userns_pool_default(&pool, &lease_dir);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the lease directory below %s: %m", agent_lease_root());
        r = userns_lease_acquire(&pool, name, ret, &reused);
        if (r == -EBUSY)
                return log_error_errno(r, "No free user namespace range left for %s between 0x%x and 0x%x.",
                                       name, USERNS_FIRST_BASE, USERNS_LAST_BASE + USERNS_RANGE_SIZE - 1);
        if (r == -EADDRINUSE)
                return log_error_errno(r, "The user namespace range leased to %s in %s/%s now overlaps users or groups "
                                       "known to NSS, or a range systemd-nspawn picked; refusing to start.",
                                       name, lease_dir, name);
        if (r < 0)
                return log_error_errno(r, "Failed to lease a user namespace range for %s: %m", name);
        log_info("User namespace range 0x%08" PRIx32 ":%u for %s (%s).", *ret, USERNS_RANGE_SIZE, name,
                 reused ? "its lease" : "newly leased");
        return 0;
}

static int prepare_dirs(const char *name, char **ret_dir) {
        _cleanup_free_ char *dir = NULL;
        int r;

        if (agent_state_path(name, NULL, &dir) < 0)
                return log_oom();
        r = mkdir_no_symlink(agent_state_root(), 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", agent_state_root());
        r = mkdir_no_symlink(dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        /* A restart or a crash may have left a previous run's workspace and
         * secrets: never hand those to the new run. provision's root mount
         * stays (it belongs to this start). */
        r = agent_teardown(name, false);
        if (r < 0)
                return log_error_errno(r, "Failed to clear the leftovers of a previous run of %s: %m", name);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static int configure_sandbox(const RuntimeConfig *c, const char *dir, uint32_t base) {
        _cleanup_free_ char *secrets = NULL, *ws = NULL, *tmp = NULL;
        /* MemoryDenyWriteExecute=no lifts only the W^X rules on mmap() and
         * mprotect(), for JIT runtimes; everything else stays. */
        struct bpf_writer w = { c->syscalls, c->n_syscalls,
                                c->allow_write_execute ? SECCOMP_POLICY_ALLOW_WRITE_EXECUTE : 0 };
        uid_t owner = (uid_t) (base + c->uid);
        int r;

        if (agent_state_path(c->name, AGENT_STATE_SECRETS_DIR, &secrets) < 0 ||
            agent_state_path(c->name, AGENT_STATE_WORKSPACE_DIR, &ws) < 0 ||
            agent_state_path(c->name, AGENT_STATE_TMP_DIR, &tmp) < 0)
                return log_oom();
        r = write_file_atomic_with(dir, AGENT_STATE_SECCOMP, 0444, bpf_write, &w);
        if (r < 0)
                return log_error_errno(r, "Failed to write the seccomp filter %s/%s: %m", dir, AGENT_STATE_SECCOMP);
        r = secrets_stage(secrets, c->secrets, c->n_secrets, owner);
        if (r >= 0 && c->tmp_size > 0)
                r = tmp_setup(tmp, c->tmp_size, (uid_t) base);
        if (r >= 0)
                r = workspace_setup(c->name, ws, c->workspace_size, owner);
        if (r >= 0 && c->shared_state)
                r = shared_state_own(c->shared_state, owner);
        return r;
}

int runtime_configure(const RuntimeConfig *c, uint32_t *ret_userns_base) {
        _cleanup_free_ char *dir = NULL;
        uint32_t base = 0;
        int r;

        /* Refusals first: they cost nothing and leave nothing. */
        r = check_syscalls(c);
        if (r >= 0 && c->shared_state)
                r = shared_state_check(c->shared_state);
        if (r >= 0)
                r = prepare_dirs(c->name, &dir);
        if (r >= 0)
                r = lease_range(c->name, &base);
        if (r < 0)
                return r;

        r = configure_sandbox(c, dir, base);
        if (r < 0) {
                log_notice("Undoing the configuration of %s.", c->name);
                (void) agent_teardown(c->name, false);
                return r;
        }
        log_info("Configured agent %s.", c->name);
        *ret_userns_base = base;
        return 0;
}

/* agent-runtime configure: the same step on its own, for debugging. */
int verb_configure(int argc, char *argv[]) {
        _cleanup_(runtime_config_done) RuntimeConfig c = {};
        uint32_t base;
        int r;

        r = runtime_config_parse_argv(RUNTIME_VERB_CONFIGURE, argc, argv, &c);
        if (r <= 0)
                return r;
        r = join_host_namespaces(/* mount= */ false);
        if (r < 0)
                return r;
        r = runtime_configure(&c, &base);
        if (r < 0)
                return log_error_errno(r, "Failed to configure agent %s: %m", c.name);
        return 0;
}
