/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Where definition errors go. Every message names the file and, where there is
 * one, the line, section and key, so an operator can find it at once:
 *
 *   /etc/agents/web.agent:7: [Resources] Memory=3X: not a size; expected …
 *
 * A Report counts what it was told, so that the caller can decide the exit
 * status after all agents were looked at. */

#include <stdbool.h>

#include "macro.h"

typedef void (*report_record_t)(void *userdata, bool error, const char *path, unsigned line,
                                const char *section, const char *key, const char *message);

typedef struct Report {
        unsigned n_errors;
        unsigned n_warnings;
        /* Optional: every message is also handed to record() (agentctl verify
         * --json collects them); with quiet it is not logged at all. */
        report_record_t record;
        void *userdata;
        bool quiet;
} Report;

/* Reports one message: an error (counted in n_errors) or a warning. */
void report_full(Report *r, bool error, const char *path, unsigned line, const char *section,
                 const char *key, const char *fmt, ...) _printf_(7, 8);
#define report_error(r, ...) report_full((r), true, __VA_ARGS__)
#define report_warning(r, ...) report_full((r), false, __VA_ARGS__)
