/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Collecting what libagentcage reports about definitions, for
 * `agentctl verify --json` and for commands that must not spill errors of
 * unrelated definitions onto the terminal.
 *
 * agentctl is linked with -Wl,--wrap=report_error,--wrap=report_warning: every
 * report of the library passes through __wrap_report_*() below, which records
 * it when a capture is active and otherwise hands it on unchanged. No second
 * logging path exists: uncaptured reports are logged by report.c as always. */

#include <stdbool.h>

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

/* Starts recording into c (NULL stops). Only one capture is active at a time. */
void capture_set(Capture *c);
void capture_done(Capture *c);

void __real_report_error(Report *r, const char *path, unsigned line, const char *section, const char *key,
                         const char *fmt, ...) _printf_(6, 7);
void __real_report_warning(Report *r, const char *path, unsigned line, const char *section, const char *key,
                           const char *fmt, ...) _printf_(6, 7);
void __wrap_report_error(Report *r, const char *path, unsigned line, const char *section, const char *key,
                         const char *fmt, ...) _printf_(6, 7);
void __wrap_report_warning(Report *r, const char *path, unsigned line, const char *section, const char *key,
                           const char *fmt, ...) _printf_(6, 7);
