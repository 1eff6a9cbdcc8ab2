/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The one typed description of an agent's runtime configuration. It is
 * parsed once, from the command line of `agent-runtime start` (the unit's
 * ExecStart=, written by the generator from a validated definition; checked
 * again here because an admin can edit or override a unit and this program
 * runs as root), and handed as a C struct to provision, configure, the
 * command-line builder and the agent.state writer. docs/DESIGN.md, "The
 * runtime contract", lists the options. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-limits.h"
#include "agent-state.h"

/* "sha256:" + 64 lowercase hex digits + NUL */
#define IMAGE_DIGEST_STRING_MAX (7 + 64 + 1)

typedef struct SecretSpec {
        char *name;   /* file name under /run/secrets */
        char *source; /* absolute path, or "cred:ID" */
} SecretSpec;

typedef enum RuntimeNetwork {
        RUNTIME_NETWORK_NONE,    /* loopback only */
        RUNTIME_NETWORK_PRIVATE, /* a veth link set up by nspawn */
        RUNTIME_NETWORK_EGRESS,  /* loopback only, with the egress proxy's listener on it */
        _RUNTIME_NETWORK_MAX,
} RuntimeNetwork;

typedef struct RuntimeConfig {
        char *name;
        char *image;                           /* absolute path or bare image name */
        char image_digest[IMAGE_DIGEST_STRING_MAX]; /* "" when not pinned */
        char **image_allow;                    /* ImageAllow= paths, NULL-terminated, or NULL */
        size_t n_image_allow;
        bool allow_write_execute;              /* MemoryDenyWriteExecute=no */
        uid_t uid;                             /* inside the namespace, 1…65534 */
        uint64_t workspace_size;
        uint64_t tmp_size;                     /* 0: no /tmp mount */
        char **syscalls;                       /* extra system calls, NULL-terminated */
        size_t n_syscalls;
        SecretSpec *secrets;
        size_t n_secrets;
        char *shared_state;                    /* or NULL */
        RuntimeNetwork network;
        bool keep_net_bind_service;
        bool notify;
        uint64_t watchdog_usec;
        char **health_check;                   /* argv, or NULL */
        uint64_t health_interval_usec;
        uint64_t health_retries;
        char **environment;                    /* KEY=VALUE */
        char *working_directory;               /* never NULL after parsing */
        uint64_t orphan_timeout_usec;          /* 0: never reaped */
        AppArmorMode apparmor;
        char **exec;                           /* argv of the agent, exec[0] absolute */
} RuntimeConfig;

void runtime_config_done(RuntimeConfig *c);

/* Which verb's options are required: start wants everything, provision only
 * --name= and --image=, configure --name=, --uid= and --workspace-size=. */
typedef enum RuntimeVerb {
        RUNTIME_VERB_START,
        RUNTIME_VERB_PROVISION,
        RUNTIME_VERB_CONFIGURE,
        RUNTIME_VERB_RECYCLE,   /* --name= only */
} RuntimeVerb;

/* Parses argv (argv[0] is the verb) with the one option table. For START the
 * agent's command line follows "--"; the other verbs take none. Returns 1 to
 * go on, 0 after --help, -errno (logged, naming the option) on bad input. */
int runtime_config_parse_argv(RuntimeVerb verb, int argc, char *argv[], RuntimeConfig *ret);

/* The whole command line of systemd-nspawn for C with the user-namespace
 * range at BASE, agent-init's command line included: the one place that
 * knows both. Returns a NULL-terminated malloc()ed vector (strv_free()) or
 * -ENOMEM. */
int runtime_nspawn_argv(const RuntimeConfig *c, uint32_t userns_base, char ***ret);
