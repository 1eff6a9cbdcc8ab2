/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

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

static void record(void *userdata, bool error, const char *path, unsigned line, const char *section,
                   const char *key, const char *msg) {
        Capture *active = userdata;
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

void capture_attach(Report *r, Capture *c) {
        r->record = record;
        r->userdata = c;
        r->quiet = c->quiet;
}

int definition_load_quiet(const AgentSource *s, Agent **ret) {
        Capture cap = { .quiet = true };
        Report report = {};
        int r;

        capture_attach(&report, &cap);
        r = agent_load(s->name, s->main_path, s->dropins, s->n_dropins, &report, ret);
        capture_done(&cap);
        return r;
}
