/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"
#include "report.h"

_printf_(7, 0) static void report_va(const Report *r, int level, const char *path, unsigned line,
                                    const char *section, const char *key, const char *fmt, va_list ap) {
        char msg[1024], where[64] = "";

        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        if (r->record)
                r->record(r->userdata, level == LOG_ERR, path, line, section, key, msg);
        if (r->quiet)
                return;
        if (line > 0)
                (void) snprintf(where, sizeof where, ":%u", line);

        if (section && key)
                log_full(level, "%s%s: [%s] %s: %s", path, where, section, key, msg);
        else if (section)
                log_full(level, "%s%s: [%s]: %s", path, where, section, msg);
        else
                log_full(level, "%s%s: %s", path, where, msg);
}

void report_error(Report *r, const char *path, unsigned line, const char *section,
                  const char *key, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_va(r, LOG_ERR, path, line, section, key, fmt, ap);
        va_end(ap);
        r->n_errors++;
}

void report_warning(Report *r, const char *path, unsigned line, const char *section,
                    const char *key, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        report_va(r, LOG_WARNING, path, line, section, key, fmt, ap);
        va_end(ap);
        r->n_warnings++;
}
