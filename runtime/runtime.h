/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Verbs of agent-runtime, the helper the generated unit calls (docs/DESIGN.md,
 * "The runtime contract"). Each takes the verb's own argv (argv[0] is the verb)
 * and returns 0 or a negative errno; it logs its own errors. */

int verb_provision(int argc, char *argv[]);
int verb_configure(int argc, char *argv[]);
int verb_recycle(int argc, char *argv[]);
int verb_digest(int argc, char *argv[]);

/* Directory holding the runtime state of agent NAME: /run/agents/NAME. The
 * root can be moved with $AGENTCAGE_RUNTIME_DIR for tests. */
#define AGENT_RUNTIME_ROOT_DEFAULT "/run/agents"
