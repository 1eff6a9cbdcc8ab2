/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl assign, release and reap: the task assignment of a running agent
 * and the orphan rule that stops agents without one. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus.h"
#include "ctl.h"
#include "journal.h"
#include "log.h"
#include "state.h"

/* Resolves NAME, checks that it runs and locks its state directory. */
static int lock_running(Ctl *c, const char *name, AgentRef *ret_ref, int *ret_fd) {
        _cleanup_(unit_info_done) UnitInfo u = {};
        int r;

        r = ctl_resolve(c, name, false, ret_ref);
        if (r < 0)
                return r;
        r = ctl_connect(c);
        if (r < 0)
                return r;
        r = unit_info_get(c->bus, name, &u);
        if (r < 0)
                return r;
        if (!unit_running(&u)) {
                log_error("Agent %s is not running.", name);
                return -ENOENT;
        }
        r = state_lock(name, ret_fd);
        if (r == -ENOENT) {
                log_error("Agent %s is not running (no %s/%s).", name, agent_state_root(), name);
                return -ENOENT;
        }
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to lock %s/%s: %m", agent_state_root(), name);
        return 0;
}

int verb_assign(Ctl *c, char **args) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_(assignment_done) Assignment old = {};
        Assignment a = {};
        AgentRef ref;
        char d[FORMAT_TIME_MAX], msg[512];
        int r, k;

        if (!task_is_valid(args[1])) {
                log_error("A task must be 1 to %u bytes of printable UTF-8 without control characters or "
                          "leading/trailing spaces.", TASK_MAX);
                return -CTL_E_USAGE;
        }
        r = lock_running(c, args[0], &ref, &dir_fd);
        if (r < 0)
                return r;

        k = state_assignment_read(ref.name, &old);
        if (k < 0 && k != -ENOENT && k != -EBADMSG)
                return log_error_errno(ctl_plain_failure(k), "Failed to read the assignment of %s: %m", ref.name);
        if (k == -EBADMSG)
                log_warning("The assignment file of %s was malformed; replacing it.", ref.name);

        a.task = args[1];
        a.assigned = now_realtime_usec();
        a.lease_until = c->lease_set ? a.assigned + c->lease_usec : 0;
        a.released = k >= 0 ? old.released : 0;
        r = state_assignment_write(dir_fd, &a);
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to write the assignment of %s: %m", ref.name);
        if (old.task)
                log_info("Replacing task '%s' of %s.", old.task, ref.name);
        if (c->lease_set)
                (void) snprintf(msg, sizeof msg, "assigned: task %s to %s, lease until %s", a.task, ref.name,
                                format_time(d, sizeof d, a.lease_until));
        else
                (void) snprintf(msg, sizeof msg, "assigned: task %s to %s, no lease", a.task, ref.name);
        journal_note(ref.name, "assigned", msg);
        return 0;
}

int verb_release(Ctl *c, char **args) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_(assignment_done) Assignment a = {};
        AgentRef ref;
        char msg[512];
        int r;

        r = lock_running(c, args[0], &ref, &dir_fd);
        if (r < 0)
                return r;
        r = state_assignment_read(ref.name, &a);
        if (r == -ENOENT || (r >= 0 && !a.task)) {
                log_error("Agent %s has no task assigned.", ref.name);
                return -ENOENT;
        }
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to read the assignment of %s: %m", ref.name);

        /* Keep the release time until the directory is recycled: should the
         * stop not happen, the reaper counts the orphan time from here. */
        (void) snprintf(msg, sizeof msg, "released: task %s completed", a.task);
        assignment_done(&a);
        a.released = now_realtime_usec();
        r = state_assignment_write(dir_fd, &a);
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to write the assignment of %s: %m", ref.name);
        journal_note(ref.name, "released", msg);

        r = ctl_job(c, "StopUnit", ref.name);
        if (r < 0)
                return r;
        printf("Stopped agent %s.\n", ref.name);
        return 0;
}

/* ---- reap --------------------------------------------------------------- */

/* The verdict on one running agent, its assignment read under the lock.
 * Returns 1 (reap, *msg says why), 0 (keep) or -errno. */
static int reap_decide(const AgentRef *ref, uint64_t started, uint64_t timeout, char *msg, size_t size) {
        _cleanup_(assignment_done) Assignment as = {};
        char t1[FORMAT_TIMESPAN_MAX], t2[FORMAT_TIMESPAN_MAX];
        uint64_t orphan;
        OrphanVerdict v;
        int r;

        r = state_assignment_read(ref->name, &as);
        if (r < 0 && r != -ENOENT)
                /* Never stop an agent on data we cannot read. */
                return log_error_errno(ctl_plain_failure(r), "Failed to read the assignment of %s, not reaping it: %m",
                                       ref->name);
        v = orphan_verdict(now_realtime_usec(), started, r >= 0 ? &as : NULL, timeout, &orphan);
        if (!orphan_verdict_reaps(v))
                return 0;
        format_timespan(t2, sizeof t2, timeout);
        if (v == ORPHAN_REAP_EXPIRED)
                (void) snprintf(msg, size, "reaped %s: lease of task %s expired %s ago (OrphanTimeoutSec=%s)",
                                ref->name, as.task, format_timespan(t1, sizeof t1, orphan), t2);
        else
                (void) snprintf(msg, size, "reaped %s: no task assignment for %s (OrphanTimeoutSec=%s)", ref->name,
                                format_timespan(t1, sizeof t1, orphan), t2);
        return 1;
}

static int reap_one(Ctl *c, const AgentRef *ref) {
        _cleanup_(unit_info_done) UnitInfo u = {};
        _cleanup_close_ int dir_fd = -EBADF;
        TimeoutSource from;
        uint64_t timeout;
        char msg[512];
        int r;

        r = unit_info_get(c->bus, ref->name, &u);
        if (r < 0)
                return r;
        if (!unit_running(&u) || u.active_enter_usec == 0)
                return 0;
        r = state_lock(ref->name, &dir_fd);
        if (r == -ENOENT)
                return 0; /* stopped meanwhile */
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to lock %s/%s, not reaping it: %m",
                                       agent_state_root(), ref->name);
        /* What was fixed at start, not what the definition says now. */
        r = state_orphan_timeout(ref->name, ref->source, &timeout, &from);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to read %s of %s, not reaping it: %m",
                                       AGENT_STATE_INFO, ref->name);
        if (from == TIMEOUT_UNKNOWN || timeout == 0)
                return 0; /* never reaped */
        r = reap_decide(ref, u.active_enter_usec, timeout, msg, sizeof msg);
        if (r <= 0)
                return r;
        journal_note(ref->name, "reaped", msg);
        return ctl_job(c, "StopUnit", ref->name);
}

int verb_reap(Ctl *c, char **args) {
        _cleanup_free_ AgentRef *refs = NULL;
        size_t n;
        int r, ret = 0;

        r = ctl_agents(c, &refs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = reap_one(c, &refs[i]);
                if (r == -CTL_E_UNREACHABLE)
                        return r;
                if (r < 0)
                        ret = r; /* one agent's trouble does not spare the others */
        }
        return ret;
}
