/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bus.h"
#include "capture.h"
#include "ctl.h"
#include "log.h"
#include "parse-value.h"
#include "state.h"

void ctl_done(Ctl *c) {
        strv_free(c->search_path);
        strv_free(c->undefined);
        agent_sources_free(c->sources, c->n_sources);
        sd_bus_flush_close_unref(c->bus);
        *c = (Ctl) {};
}

int ctl_discover(Ctl *c) {
        Capture cap = { .quiet = true };
        Report report = {};
        int r;

        r = definitions_search_path(&c->search_path);
        if (r < 0)
                return ctl_plain_failure(r); /* logged */
        capture_attach(&report, &cap);
        r = definitions_discover(c->search_path, &report, &c->sources, &c->n_sources);
        capture_done(&cap);
        if (r < 0)
                return log_error_errno(ctl_plain_failure(r), "Failed to discover agent definitions: %m");
        return 0;
}

int ctl_connect(Ctl *c) {
        return c->bus ? 0 : bus_connect(&c->bus);
}

static const AgentSource *ctl_find(const Ctl *c, const char *name) {
        for (size_t i = 0; i < c->n_sources; i++)
                if (streq(c->sources[i].name, name))
                        return &c->sources[i];
        return NULL;
}

static bool state_dir_exists(const char *name) {
        _cleanup_free_ char *dir = NULL;
        struct stat st;

        return agent_state_path(name, NULL, &dir) >= 0 && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int ctl_resolve(Ctl *c, const char *name, bool need_definition, AgentRef *ret) {
        const AgentSource *s;

        if (!agent_name_is_valid(name)) {
                log_error("'%s' is not a valid agent name.", name);
                return -CTL_E_USAGE;
        }
        s = ctl_find(c, name);
        if (s) {
                *ret = (AgentRef) { .name = s->name, .source = s };
                return 0;
        }
        /* The state directory is the unit's RuntimeDirectory=: there from
         * before the agent starts until after it stopped. */
        if (!need_definition && state_dir_exists(name)) {
                log_debug("%s has no definition any more, but is still there.", name);
                *ret = (AgentRef) { .name = name, .source = NULL };
                return 0;
        }
        log_error("No agent '%s' is defined (no %s.agent on the search path; see 'agentctl verify').", name, name);
        return -CTL_E_UNKNOWN;
}

/* Adds the names of v that are not defined and not in c->undefined yet. */
static int add_undefined(Ctl *c, size_t *n, char **v) {
        for (char **p = v; p && *p; p++) {
                char **grown;
                bool known = ctl_find(c, *p);

                for (size_t i = 0; !known && i < *n; i++)
                        known = streq(c->undefined[i], *p);
                if (known)
                        continue;
                grown = reallocarray(c->undefined, *n + 2, sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                c->undefined = grown;
                grown[*n] = strdup(*p);
                if (!grown[*n])
                        return -ENOMEM;
                grown[++*n] = NULL;
        }
        return 0;
}

static int cmp_ref(const void *a, const void *b) {
        return strcmp(((const AgentRef *) a)->name, ((const AgentRef *) b)->name);
}

int ctl_agents(Ctl *c, AgentRef **ret, size_t *ret_n) {
        _cleanup_strv_free_ char **units = NULL, **dirs = NULL;
        size_t n_units, n_dirs, n_undefined = 0, n = 0;
        AgentRef *refs;
        int r;

        r = ctl_connect(c);
        if (r < 0)
                return r;
        r = bus_list_agents(c->bus, &units, &n_units);
        if (r < 0)
                return r;
        r = state_list_names(&dirs, &n_dirs);
        if (r < 0 && r != -EACCES)
                log_debug_errno(r, "Failed to list %s, ignoring: %m", agent_state_root());
        strv_free(c->undefined);
        c->undefined = NULL;
        if (add_undefined(c, &n_undefined, units) < 0 || add_undefined(c, &n_undefined, r >= 0 ? dirs : NULL) < 0)
                return log_oom();

        refs = calloc(c->n_sources + n_undefined + 1, sizeof(AgentRef));
        if (!refs)
                return log_oom();
        for (size_t i = 0; i < c->n_sources; i++)
                refs[n++] = (AgentRef) { .name = c->sources[i].name, .source = &c->sources[i] };
        for (size_t i = 0; i < n_undefined; i++)
                refs[n++] = (AgentRef) { .name = c->undefined[i] };
        qsort(refs, n, sizeof(AgentRef), cmp_ref);
        *ret = refs;
        *ret_n = n;
        return 0;
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

char *format_time(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || usec == CTL_UNSET || !localtime_r(&t, &tm) ||
            strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                (void) snprintf(buf, size, "n/a");
        return buf;
}

void print_sanitized(FILE *f, const char *s, bool newlines) {
        for (const unsigned char *p = (const unsigned char *) strempty(s); *p; p++)
                fputc(*p == '\t' || (*p == '\n' && newlines) || (*p >= 0x20 && *p != 0x7f) ? *p : '?', f);
}
