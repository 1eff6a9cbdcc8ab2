/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "report.h"

/* An agent definition after validation: everything the unit is rendered from.
 * Built by agent_load() from a main file and its drop-ins through the schema
 * table (schema.c); nothing here is unchecked operator input. */

typedef enum RestartPolicy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ALWAYS,
} RestartPolicy;

typedef enum NetworkMode {
        NETWORK_NONE,
        NETWORK_PRIVATE,
} NetworkMode;

typedef struct AgentSecret {
        char *name;    /* file name under /run/secrets */
        char *source;  /* absolute host path, or "cred:ID" */
} AgentSecret;

typedef struct Agent {
        char *name;
        char *source_path;   /* the main definition file */
        char **dropin_paths; /* applied in this order */

        /* [Agent] */
        char *image;         /* absolute path or bare image name */
        char *image_digest;  /* "sha256:HEX" or NULL */
        char **image_allow;  /* ImageAllow=: interpreter paths inside the image, or NULL */
        char **exec;         /* argv; exec[0] absolute */
        char *description;
        char **environment;  /* KEY=VALUE */
        char *working_directory;
        uint64_t user;
        bool autostart;

        /* [Lifecycle] */
        uint64_t runtime_max_usec;
        RestartPolicy restart;
        uint64_t restart_usec;
        uint64_t max_restarts;
        uint64_t watchdog_usec;
        bool notify;
        char **health_check;      /* argv inside the image, or NULL */
        uint64_t health_interval_usec;
        uint64_t health_retries;
        uint64_t orphan_timeout_usec; /* 0: never reaped */

        /* [Resources] */
        uint64_t memory_max;
        uint64_t cpu_quota_percent;
        uint64_t tasks_max;

        /* [Security] */
        bool cap_net_bind_service;
        char **system_calls;
        NetworkMode network;
        bool memory_deny_write_execute;

        /* [Volumes] */
        uint64_t workspace_size;
        uint64_t tmp_size;
        char *shared_state;

        /* [Secrets] */
        AgentSecret *secrets;
        size_t n_secrets;

        /* [Egress] (src/egress): canonical patterns "host:port" or
         * "*.host:port". egress_allow NULL: no [Egress], no proxy. */
        char **egress_allow;
        char **egress_deny;
        bool egress_read_only;  /* Methods=read-only */
} Agent;

Agent *agent_free(Agent *a);
static inline void agent_freep(Agent **a) {
        agent_free(*a);
}
#define _cleanup_agent_free_ __attribute__((cleanup(agent_freep)))

#define AGENT_MASKED 1

/* Loads agent NAME from its main file and drop-ins (in order). Every problem
 * is reported to r with file, line, section and key. Returns 0 with *ret set,
 * AGENT_MASKED if the main file is a mask (symlink to /dev/null or empty), or
 * -EINVAL (reported) / -ENOMEM. */
int agent_load(const char *name, const char *main_path, char *const *dropins, size_t n_dropins,
               Report *r, Agent **ret);

/* The same for a source of definitions_foreach(), whose main file is opened
 * in its open search directory. */
typedef struct AgentSource AgentSource;
int agent_load_source(const AgentSource *s, Report *r, Agent **ret);
