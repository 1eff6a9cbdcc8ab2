/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What every verb of agentctl shares: the options, the definitions found on
 * the search path, the bus connection, and how a NAME on the command line
 * becomes an agent. A verb is a function `int verb_X(Ctl *c, char **args)`
 * that logs what goes wrong and returns 0 or a negative errno; main() maps
 * that to the exit status (ctl-util.h, CTL_E_*). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-bus.h>

#include "ctl-util.h"
#include "definition.h"

typedef struct Ctl {
        /* options */
        bool json;
        bool names;
        bool lease_set;
        uint64_t lease_usec;
        bool prune;   /* images --prune */

        char **search_path;
        AgentSource *sources;
        size_t n_sources;
        char **undefined; /* agents present in systemd or ROOT without a definition (ctl_agents) */
        sd_bus *bus;
} Ctl;

void ctl_done(Ctl *c);

/* Finds the definitions. Problems of single definitions are not reported
 * (`agentctl verify` shows them). */
int ctl_discover(Ctl *c);
/* Connects to the system bus once. */
int ctl_connect(Ctl *c);

/* An agent: defined (source), or present without a definition any more (its
 * definition was deleted while it runs: it can still be shown and stopped). */
typedef struct AgentRef {
        const char *name;
        const AgentSource *source; /* NULL: no definition */
} AgentRef;

/* NAME from the command line: an invalid name is -EINVAL, an agent that is
 * neither defined nor (with need_definition false) present (its state
 * directory exists) is -ESRCH; both logged. */
int ctl_resolve(Ctl *c, const char *name, bool need_definition, AgentRef *ret);

/* Every agent: the defined ones and those present without a definition,
 * sorted by name. Connects to the bus. *ret is malloc'ed; the names are
 * owned by c. */
int ctl_agents(Ctl *c, AgentRef **ret, size_t *ret_n);

uint64_t now_realtime_usec(void);
/* "Tue 2026-12-01 21:30:25 UTC", or "n/a" for 0 and CTL_UNSET. */
#define FORMAT_TIME_MAX 64
char *format_time(char *buf, size_t size, uint64_t usec);

/* Agents, their journals and their definitions are untrusted: what reaches
 * the operator's terminal carries no control characters (shown as '?';
 * tab always and newline with `newlines` pass). */
void print_sanitized(FILE *f, const char *s, bool newlines);

/* The verbs (verb table in main.c). */
int verb_list(Ctl *c, char **args);
int verb_status(Ctl *c, char **args);
int verb_start(Ctl *c, char **args);
int verb_stop(Ctl *c, char **args);
int verb_restart(Ctl *c, char **args);
int verb_assign(Ctl *c, char **args);
int verb_release(Ctl *c, char **args);
int verb_reap(Ctl *c, char **args);
int verb_cat(Ctl *c, char **args);
int verb_verify(Ctl *c, char **args);

/* Runs a StartUnit/StopUnit/RestartUnit job for the agent and logs a result
 * other than "done" (-EIO). */
int ctl_job(Ctl *c, const char *method, const char *name);
