/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Collecting what libagentcage reports about definitions, for
 * `agentctl verify --json` and for commands that must not spill errors of
 * unrelated definitions onto the terminal.
 *
 * A Report attached to a Capture hands every message to it (report.c's
 * record hook); no second logging path exists. */

#include <stdbool.h>

#include "agent.h"
#include "definition.h"
#include "report.h"

typedef struct Captured {
        bool error; /* false: a warning */
        char *file;
        unsigned line; /* 0: none */
        char *section;
        char *key;
        char *message;
} Captured;

typedef struct Capture {
        bool quiet; /* record only; do not log */
        Captured *items;
        size_t n_items;
        bool oom;
} Capture;

/* Makes r record into c (and, with c->quiet, log nothing). */
void capture_attach(Report *r, Capture *c);
void capture_done(Capture *c);

/* Loads a definition without logging its problems. Returns agent_load()'s
 * result: 0, AGENT_MASKED or a negative errno. */
int definition_load_quiet(const AgentSource *s, Agent **ret);
