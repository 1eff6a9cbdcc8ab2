/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The ONE capability table: every capability the kernel knows, by name and
 * number, and which of them the container keeps for agent-init. The schema
 * (which names exist, which one a definition may add back), the unit
 * (nspawn's --drop-capability=) and agent-init (--keep-caps=, what PID 1
 * holds) all derive from it. libc only: the static agent-init links it. */

typedef struct CapabilityName {
        const char *name;  /* "CAP_CHOWN" */
        unsigned value;    /* 0 … 63 */
} CapabilityName;

extern const CapabilityName capability_table[];
extern const size_t capability_table_size;

/* The number of NAME (exact spelling, or any case with ignore_case), or
 * -EINVAL. */
int capability_from_name(const char *name, bool ignore_case);

/* The name of capability cap, or NULL. */
const char *capability_to_name(unsigned cap);

#define CAPABILITY_MASK(cap) (UINT64_C(1) << (cap))

/* What the container's PID 1 (agent-init) needs and nspawn must therefore
 * not drop: CAP_SETUID, CAP_SETGID to start the agent and each health check
 * under the agent's ids, CAP_SETPCAP to empty their bounding set, CAP_KILL to
 * signal the agent, which runs under another uid than PID 1 so that it cannot
 * signal, renice or limit PID 1 itself. */
#define CAPABILITY_INIT_KEEPS                                                    \
        (CAPABILITY_MASK(6) /* CAP_SETGID */ | CAPABILITY_MASK(7) /* CAP_SETUID */ | \
         CAPABILITY_MASK(8) /* CAP_SETPCAP */ | CAPABILITY_MASK(5) /* CAP_KILL */)

/* The only capability a definition may add back to the agent. */
#define CAPABILITY_AGENT_MAY_ADD CAPABILITY_MASK(10) /* CAP_NET_BIND_SERVICE */

/* Whether nspawn must leave capability NAME to agent-init (CAPABILITY_INIT_KEEPS,
 * plus CAP_NET_BIND_SERVICE when the agent gets it). */
bool capability_kept_for_init(const char *name, bool agent_net_bind);
