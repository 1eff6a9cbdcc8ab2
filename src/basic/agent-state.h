/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one owner of the runtime state layout. Every program that looks at a
 * running agent (the generated unit's RuntimeDirectory=, agent-runtime,
 * agentctl, the egress proxy) takes the paths from here:
 *
 *   /run/agentcage/                   AGENT_STATE_ROOT ($AGENTCAGE_RUNTIME_DIR for tests)
 *   ├── egress.sock                   the egress proxy's control socket (root only)
 *   ├── egress/NAME.stats             the proxy's counters of agent NAME
 *   └── NAME/                         0700 root, the unit's RuntimeDirectory=
 *       ├── agent.state               facts fixed at start (AgentStateInfo below)
 *       ├── assignment                the task assignment (agentctl assign)
 *       ├── seccomp.bpf               the compiled filter agent-init loads
 *       ├── root/                     the image, mounted read-only
 *       ├── tmp/                      the /tmp tmpfs
 *       ├── secrets/                  the secrets ramfs
 *       └── workspace/                the encrypted workspace
 *
 * agent.state is written once, atomically, by agent-runtime start before the
 * agent runs, and read by agentctl (status, reap): what they need about a
 * running agent comes from here, never from the definition as it is now
 * (which may have been edited or broken since the agent started). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENT_STATE_ROOT "/run/agentcage"

#define AGENT_STATE_INFO "agent.state"
#define AGENT_STATE_EGRESS_DIR "egress"
#define AGENT_STATE_ASSIGNMENT "assignment"
#define AGENT_STATE_SECCOMP "seccomp.bpf"
#define AGENT_STATE_ROOT_DIR "root"
#define AGENT_STATE_TMP_DIR "tmp"
#define AGENT_STATE_SECRETS_DIR "secrets"
#define AGENT_STATE_WORKSPACE_DIR "workspace"

/* Where agent-init and the filter appear inside the container. */
#define AGENT_INIT_CONTAINER_PATH "/run/agentcage/init"
#define AGENT_SECCOMP_CONTAINER_PATH "/run/agentcage/seccomp.bpf"

/* An agent.state file is a few short lines; anything larger is not ours. */
#define AGENT_STATE_INFO_MAX 4096U

/* $AGENTCAGE_RUNTIME_DIR or /run/agentcage. The override must be a plain
 * absolute path; anything else is ignored with a warning. Never NULL. */
const char *agent_state_root(void);

/* ROOT/NAME, or ROOT/NAME/ENTRY when entry is not NULL. NAME must be a valid
 * agent name (-EINVAL otherwise). Returns 0 or -errno. */
int agent_state_path(const char *name, const char *entry, char **ret);

typedef enum AppArmorMode {
        APPARMOR_REQUIRED,   /* no AppArmor, no agent (the default) */
        APPARMOR_OPTIONAL,   /* the site allowed running unconfined; said on every start */
        _APPARMOR_MODE_MAX,
} AppArmorMode;

const char *apparmor_mode_to_string(AppArmorMode m);
int apparmor_mode_from_string(const char *s, AppArmorMode *ret);

/* What is fixed about a running agent when it starts. */
typedef struct AgentStateInfo {
        uint64_t started_usec;         /* CLOCK_REALTIME */
        uint64_t orphan_timeout_usec;  /* OrphanTimeoutSec=; 0 = never reaped */
        uint32_t userns_base;          /* first host uid of its range */
        AppArmorMode apparmor;
        char *image;                   /* Image= as the definition said it */
        char *image_digest;            /* "sha256:HEX" of what was mounted, or NULL */
        char **image_exceptions;       /* ImageAllow= paths that were used, or NULL */
} AgentStateInfo;

void agent_state_info_done(AgentStateInfo *i);

/* KEY=VALUE lines, one key each, in a fixed order. Strings must be printable
 * without newlines (-EINVAL otherwise). */
int agent_state_info_format(const AgentStateInfo *i, char **ret);

/* Strict: unknown, repeated or malformed lines are -EBADMSG. Fills *ret only
 * on success. */
int agent_state_info_parse(const char *text, size_t len, AgentStateInfo *ret);

/* --- persistent state ------------------------------------------------------
 *
 *   /var/lib/agentcage/               AGENT_LEASE_ROOT ($AGENTCAGE_STATE_DIR for tests),
 *   └── userns/                       the unit's StateDirectory=
 *       └── NAME                      the agent's user-namespace range: "0xBASE\n"
 *
 * A range is leased to an agent name once and kept across restarts and
 * reboots, so the files it leaves in its shared state stay its own. */
#define AGENT_LEASE_ROOT "/var/lib/agentcage"
#define AGENT_LEASE_USERNS_DIR "userns"

/* $AGENTCAGE_STATE_DIR or /var/lib/agentcage, like agent_state_root(). */
const char *agent_lease_root(void);

/* Writes INFO to ROOT/NAME/agent.state atomically (0644). Returns 0 or -errno. */
int agent_state_info_write(const char *name, const AgentStateInfo *info);
/* Reads and parses ROOT/NAME/agent.state. Returns 0, -ENOENT, -EBADMSG or -errno. */
int agent_state_info_read(const char *name, AgentStateInfo *ret);

/* --- shared state ----------------------------------------------------------
 * SharedState= directories live strictly below /var/lib/agents/, never in or
 * above an image store (/var/lib/agents/images, /var/lib/machines), and
 * contain neither ':' nor ',' (systemd-nspawn's --bind= separators). The
 * schema checks the definition's value with this, the runtime the value it is
 * given and the directory's real path. Returns 0, or -EINVAL and a static
 * reason. */
#define AGENT_SHARED_STATE_PREFIX "/var/lib/agents/"
int shared_state_path_check(const char *path, const char **ret_why);
