/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

static Capture *active;

void capture_set(Capture *c) {
        active = c;
}

void capture_done(Capture *c) {
        for (size_t i = 0; i < c->n_items; i++) {
                free(c->items[i].file);
                free(c->items[i].section);
                free(c->items[i].key);
                free(c->items[i].message);
        }
        free(c->items);
        *c = (Capture) {};
}

static char *strdup_null(const char *s, bool *oom) {
        char *t;

        if (!s)
                return NULL;
        t = strdup(s);
        if (!t)
                *oom = true;
        return t;
}

static void record(bool error, const char *path, unsigned line, const char *section, const char *key,
                   const char *msg) {
        Captured *n;

        n = reallocarray(active->items, active->n_items + 1, sizeof(Captured));
        if (!n) {
                active->oom = true;
                return;
        }
        active->items = n;
        active->items[active->n_items++] = (Captured) {
                .error = error,
                .file = strdup_null(path, &active->oom),
                .line = line,
                .section = strdup_null(section, &active->oom),
                .key = strdup_null(key, &active->oom),
                .message = strdup_null(msg, &active->oom),
        };
}

/* Same buffer size as report.c, so a captured message reads like a logged one. */
#define MSG_MAX 1024

void __wrap_report_error(Report *r, const char *path, unsigned line, const char *section, const char *key,
                         const char *fmt, ...) {
        char msg[MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (active)
                record(true, path, line, section, key, msg);
        if (active && active->quiet) {
                r->n_errors++;
                return;
        }
        __real_report_error(r, path, line, section, key, "%s", msg);
}

void __wrap_report_warning(Report *r, const char *path, unsigned line, const char *section, const char *key,
                           const char *fmt, ...) {
        char msg[MSG_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);

        if (active)
                record(false, path, line, section, key, msg);
        if (active && active->quiet) {
                r->n_warnings++;
                return;
        }
        __real_report_warning(r, path, line, section, key, "%s", msg);
}
