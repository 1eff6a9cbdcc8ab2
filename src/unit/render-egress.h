/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "agent.h"
#include "buffer.h"

/* What the generator emits for [Egress] (src/egress has the proxy):
 *  - in agent@NAME.service, beside Network=none's PrivateNetwork=yes and
 *    IPAddressDeny=any: IPAddressAllow=localhost, the cgroup-level backstop
 *    (the agent's only peer is the proxy's listener on its own loopback);
 *  - agentcage-egress/NAME.policy in the generator's output directory: the
 *    compiled policy the proxy reads (and re-reads when it changes, so a
 *    daemon-reload applies a new list to a running agent). */

#define EGRESS_POLICY_SUBDIR "agentcage-egress"

/* The unit lines; nothing for an agent without [Egress]. */
void render_egress_unit(const Agent *a, Buffer *b);

/* The policy file's text (an agent with [Egress] only). */
int render_egress_policy(const Agent *a, Buffer *b);

/* Writes dir_fd/agentcage-egress/NAME.policy for an agent with [Egress]
 * (whole or not at all); does nothing for the others. */
int emit_egress_policy_at(int dir_fd, const Agent *a);
