/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What agentctl reads and writes in the state directory of a running agent,
 * ROOT/NAME/ (the layout is src/basic/agent-state.h's): the facts fixed at
 * start (agent.state), and the task assignment, the one file agentctl adds. */

#include <stdint.h>

#include "agent-state.h"
#include "ctl-util.h"
#include "definition.h"

/* Locks ROOT/NAME, so that assign, release and reap see one another's
 * changes whole. -ENOENT: the agent is not running. */
int state_lock(const char *name, int *ret_fd);

/* The assignment of agent NAME. -ENOENT: none. -EBADMSG: not ours. */
int state_assignment_read(const char *name, Assignment *ret);
/* Replaces the assignment in the locked directory atomically (temp file +
 * rename), so that a reader never sees half of one. */
int state_assignment_write(int dir_fd, const Assignment *a);

/* ROOT/NAME/agent.state. -ENOENT: none (an agent started by an older
 * version); -EBADMSG: malformed. */
int state_info_read(const char *name, AgentStateInfo *ret);

/* The egress proxy's counters of agent NAME (ROOT/egress/NAME.stats).
 * -ENOENT: none (no [Egress], or the proxy has not served it yet);
 * -EBADMSG: malformed. */
typedef struct EgressCounters {
        uint64_t allowed, denied, bytes_up, bytes_down;
} EgressCounters;
int state_egress_read(const char *name, EgressCounters *ret);

/* The names of the directories in ROOT that are agents' (valid agent names,
 * real directories), sorted; an absent ROOT is an empty list. */
int state_list_names(char ***ret, size_t *ret_n);

/* Where a running agent's orphan timeout came from. */
typedef enum TimeoutSource {
        TIMEOUT_FROM_STATE,      /* agent.state, written at start */
        TIMEOUT_FROM_DEFINITION, /* no agent.state: the definition as it is now */
        TIMEOUT_UNKNOWN,         /* neither: the agent is not reaped */
} TimeoutSource;

/* The orphan timeout of the running agent NAME: from its agent.state, so that
 * a definition edited (or broken, or deleted) since the start changes
 * nothing; without one, from the definition s (may be NULL), said at debug
 * level. An agent.state that does not parse is -EBADMSG (never a reason to
 * stop an agent). */
int state_orphan_timeout(const char *name, const AgentSource *s, uint64_t *ret_usec, TimeoutSource *ret_from);
