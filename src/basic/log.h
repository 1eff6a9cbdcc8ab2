/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"

/* One logging path for every binary. Messages go to stderr, or to /dev/kmsg
 * when log_open_kmsg() succeeded (generators run before the journal exists).
 * log_*_errno() return the negative errno they were given, so the usual idiom
 * is
 *         if (r < 0)
 *                 return log_error_errno(r, "Failed to frobnicate %s: %m", x);
 * where %m expands to the text of that errno. Secrets and keys are never
 * passed to these functions. */

void log_set_prefix(const char *program);
void log_set_max_level(int level);
int log_get_max_level(void);
int log_open_kmsg(void);
void log_close(void);

int log_internal(int level, int error, const char *file, int line, const char *fmt, ...) _printf_(5, 6);

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __VA_ARGS__)
#define log_full(level, ...) ((void) log_internal((level), 0, __FILE__, __LINE__, __VA_ARGS__))

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, (e), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
