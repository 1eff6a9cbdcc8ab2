/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "report.h"

/* Finding agent definitions on the search path.
 *
 * The search path, highest priority first, is /etc/agents, /run/agents,
 * /usr/local/lib/agents, /usr/lib/agents, or $AGENTCAGE_PATH (dir:dir:…).
 * NAME.agent in a higher directory replaces the same file name below it.
 * NAME.agent.d/ drop-ins (*.conf) are collected from every directory; a drop-in
 * in a higher directory replaces the same-named one below; they apply in file
 * name order. Other file names are not definitions and are left alone. */

typedef struct AgentSource {
        char *name;
        char *main_path; /* the winning NAME.agent */
        char **dropins;  /* NULL-terminated, in the order they apply */
        size_t n_dropins;
        /* Set during definitions_foreach() only (else main_file is NULL):
         * the search directory of the main file, open, and the file's name
         * in it. */
        int main_dir_fd;
        const char *main_file;
} AgentSource;

/* Returns a NULL-terminated search path (malloc'ed). */
int definitions_search_path(char ***ret);

/* Calls cb for every agent on the search path, in name order; the source is
 * only valid during the call. Invalid file names are reported to r and left
 * out. A negative return of cb stops the walk and is returned. */
typedef int (*definitions_callback_t)(const AgentSource *s, void *userdata);
int definitions_foreach(char *const *search_path, Report *r, definitions_callback_t cb, void *userdata);

/* The same, collected into an array sorted by name. */
int definitions_discover(char *const *search_path, Report *r, AgentSource **ret, size_t *ret_n);

void agent_sources_free(AgentSource *s, size_t n);
