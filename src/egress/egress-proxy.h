/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>

#include "egress-log.h"
#include "egress-policy.h"

/* One registered agent of the proxy. Shared by the main loop (which owns the
 * listening socket and drops the agent when its registering process exits)
 * and the connection threads (each holds a reference). */
typedef struct EgressAgent {
        unsigned refs;                 /* atomic */
        char name[65];
        char policy_path[4096];
        char state_path[4096];

        pthread_mutex_t lock;          /* the fields below */
        EgressPolicy *policy;          /* NULL: no valid policy file, everything is denied */
        char policy_error[320];
        struct stat policy_st;         /* what policy was read from */
        bool policy_checked;
        uint64_t n_allowed, n_denied, bytes_up, bytes_down;
        bool state_written;            /* the state file shows these counters */

        int listen_fd, pidfd;
        sd_event_source *listen_source, *pid_source;
} EgressAgent;

EgressAgent *egress_agent_ref(EgressAgent *a);
void egress_agent_unref(EgressAgent *a);

/* The agent's current policy, re-read when its file changed (inode, size or
 * mtime): a copy into *ret. Returns 0, or a negative errno with the reason
 * (missing or invalid file) in why: then the request is denied. */
int egress_agent_policy(EgressAgent *a, EgressPolicy *ret, char *why, size_t why_size);

/* Counts the decision (the state file follows within a second). */
void egress_agent_account(EgressAgent *a, const EgressDecision *d);

typedef struct EgressOptions {
        int connect_timeout_msec;
        int idle_timeout_msec;
        int head_timeout_msec;
} EgressOptions;

extern EgressOptions egress_options;

/* Serves one accepted connection of agent a and closes fd (runs in its own
 * thread; takes over the reference). */
void egress_serve(EgressAgent *a, int fd);

/* Writes the state file if the counters changed since the last write (and
 * at registration, with zeros). Called by the main loop once a second. */
void egress_agent_flush_state(EgressAgent *a);
