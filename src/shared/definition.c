/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "definition.h"
#include "log.h"
#include "parse-value.h"

static const char *const default_search_path[] = {
        "/etc/agents",
        "/run/agents",
        "/usr/local/lib/agents",
        "/usr/lib/agents",
};

#define SUFFIX_MAIN ".agent"
#define SUFFIX_DROPIN_DIR ".agent.d"
#define SUFFIX_DROPIN ".conf"

int definitions_search_path(char ***ret) {
        _cleanup_strv_free_ char **v = NULL;
        const char *e = getenv("AGENTCAGE_PATH");
        size_t n = 0;

        if (e) {
                _cleanup_free_ char *copy = strdup(e);
                char *save = NULL;

                if (!copy)
                        return -ENOMEM;
                v = calloc(strlen(e) / 2 + 2, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                for (char *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
                        if (t[0] != '/')
                                return log_error_errno(-EINVAL, "AGENTCAGE_PATH entry '%s' is not absolute.", t);
                        if (!(v[n++] = strdup(t)))
                                return -ENOMEM;
                }
                if (n == 0)
                        return log_error_errno(-EINVAL, "AGENTCAGE_PATH is empty.");
        } else {
                v = calloc(ELEMENTSOF(default_search_path) + 1, sizeof(char *));
                if (!v)
                        return -ENOMEM;
                for (; n < ELEMENTSOF(default_search_path); n++)
                        if (!(v[n] = strdup(default_search_path[n])))
                                return -ENOMEM;
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static bool has_suffix(const char *s, size_t len, const char *suffix, size_t *ret_base_len) {
        size_t sl = strlen(suffix);

        if (len <= sl || memcmp(s + len - sl, suffix, sl) != 0)
                return false;
        *ret_base_len = len - sl;
        return true;
}

typedef enum EntryKind {
        ENTRY_MAIN,
        ENTRY_DROPIN_DIR,
} EntryKind;

typedef struct Entry {
        char *file;     /* file name in its directory */
        size_t base_len;
        unsigned dir;   /* index in the search path: lower wins */
        EntryKind kind;
} Entry;

static int entry_cmp(const void *a, const void *b) {
        const Entry *x = a, *y = b;
        size_t n = MIN(x->base_len, y->base_len);
        int c = memcmp(x->file, y->file, n);

        if (c != 0)
                return c;
        if (x->base_len != y->base_len)
                return x->base_len < y->base_len ? -1 : 1;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return x->dir < y->dir ? -1 : x->dir > y->dir;
}

typedef struct EntryList {
        Entry *v;
        size_t n, allocated;
} EntryList;

static void entry_list_clear(EntryList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].file);
        free(l->v);
        *l = (EntryList) {};
}

static int entry_list_add(EntryList *l, const char *file, size_t base_len, unsigned dir, EntryKind kind) {
        if (l->n == l->allocated) {
                size_t na = l->allocated ? l->allocated * 2 : 64;
                Entry *t = realloc(l->v, na * sizeof *t);
                if (!t)
                        return -ENOMEM;
                l->v = t;
                l->allocated = na;
        }
        char *f = strdup(file);
        if (!f)
                return -ENOMEM;
        l->v[l->n++] = (Entry) { f, base_len, dir, kind };
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int path_join(const char *a, const char *b, char **ret) {
        if (asprintf(ret, "%s/%s", a, b) < 0)
                return -ENOMEM;
        return 0;
}

/* Reads NAME.agent.d directories (in search path order) into a sorted,
 * de-duplicated list of drop-in paths. */
static int collect_dropins(char *const *search_path, const Entry *dirs, size_t n_dirs, Report *r,
                           char ***ret, size_t *ret_n) {
        _cleanup_(entry_list_clear) EntryList l = {};
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;

        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *dir_path = NULL;
                _cleanup_(closedirp) DIR *d = NULL;
                struct dirent *de;

                if (path_join(search_path[dirs[i].dir], dirs[i].file, &dir_path) < 0)
                        return -ENOMEM;
                d = opendir(dir_path);
                if (!d) {
                        report_warning(r, dir_path, 0, NULL, NULL, "cannot read drop-in directory (%s), ignoring",
                                       strerror(errno));
                        continue;
                }
                while ((errno = 0, de = readdir(d))) {
                        size_t base_len, len = strlen(de->d_name);

                        if (de->d_name[0] == '.')
                                continue;
                        if (!has_suffix(de->d_name, len, SUFFIX_DROPIN, &base_len))
                                continue;
                        if (entry_list_add(&l, de->d_name, len, dirs[i].dir, ENTRY_MAIN) < 0)
                                return -ENOMEM;
                }
                if (errno != 0)
                        report_warning(r, dir_path, 0, NULL, NULL, "error reading directory (%s)", strerror(errno));
        }

        qsort(l.v, l.n, sizeof(Entry), entry_cmp);
        v = calloc(l.n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
                /* Sorted by name, then priority: a repeat of the previous name
                 * comes from a lower-priority directory and is overridden. */
                if (i > 0 && l.v[i - 1].base_len == l.v[i].base_len &&
                    memcmp(l.v[i - 1].file, l.v[i].file, l.v[i].base_len) == 0)
                        continue;
                /* The drop-in's directory is the one that matched in that search directory. */
                char *dir_path = NULL, *p = NULL;
                for (size_t k = 0; k < n_dirs; k++)
                        if (dirs[k].dir == l.v[i].dir) {
                                if (path_join(search_path[dirs[k].dir], dirs[k].file, &dir_path) < 0)
                                        return -ENOMEM;
                                break;
                        }
                if (!dir_path)
                        return -EINVAL;
                int k = path_join(dir_path, l.v[i].file, &p);
                free(dir_path);
                if (k < 0)
                        return -ENOMEM;
                v[n++] = p;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

void agent_sources_free(AgentSource *s, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(s[i].name);
                free(s[i].main_path);
                strv_free(s[i].dropins);
        }
        free(s);
}

int definitions_discover(char *const *search_path, Report *r, AgentSource **ret, size_t *ret_n) {
        _cleanup_(entry_list_clear) EntryList l = {};
        AgentSource *out = NULL;
        size_t n_out = 0;
        int k;

        for (unsigned i = 0; search_path[i]; i++) {
                _cleanup_(closedirp) DIR *d = opendir(search_path[i]);
                struct dirent *de;

                if (!d) {
                        if (errno != ENOENT)
                                report_warning(r, search_path[i], 0, NULL, NULL, "cannot read directory (%s), ignoring",
                                               strerror(errno));
                        continue;
                }
                while ((errno = 0, de = readdir(d))) {
                        size_t base_len, len = strlen(de->d_name);

                        if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                                continue;
                        if (has_suffix(de->d_name, len, SUFFIX_MAIN, &base_len))
                                k = entry_list_add(&l, de->d_name, base_len, i, ENTRY_MAIN);
                        else if (has_suffix(de->d_name, len, SUFFIX_DROPIN_DIR, &base_len))
                                k = entry_list_add(&l, de->d_name, base_len, i, ENTRY_DROPIN_DIR);
                        else
                                continue;
                        if (k < 0)
                                return -ENOMEM;
                }
                if (errno != 0)
                        report_warning(r, search_path[i], 0, NULL, NULL, "error reading directory (%s)",
                                       strerror(errno));
        }

        qsort(l.v, l.n, sizeof(Entry), entry_cmp);

        out = calloc(l.n + 1, sizeof *out);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i < l.n;) {
                size_t j = i, first_dropin;
                _cleanup_free_ char *name = strndup(l.v[i].file, l.v[i].base_len);

                if (!name)
                        goto oom;
                while (j < l.n && l.v[j].base_len == l.v[i].base_len &&
                       memcmp(l.v[j].file, l.v[i].file, l.v[i].base_len) == 0)
                        j++;
                /* l.v[i..j) all belong to NAME: mains first (by priority), then drop-in dirs. */
                for (first_dropin = i; first_dropin < j && l.v[first_dropin].kind == ENTRY_MAIN; first_dropin++)
                        ;

                if (!agent_name_is_valid(name)) {
                        _cleanup_free_ char *p = NULL;
                        if (path_join(search_path[l.v[i].dir], l.v[i].file, &p) < 0)
                                goto oom;
                        report_error(r, p, 0, NULL, NULL,
                                     "invalid agent name '%s'; expected [a-z0-9] then up to 62 of [a-z0-9-], "
                                     "not ending in '-'", name);
                        i = j;
                        continue;
                }

                if (first_dropin == i) {
                        _cleanup_free_ char *p = NULL;
                        if (path_join(search_path[l.v[i].dir], l.v[i].file, &p) < 0)
                                goto oom;
                        report_warning(r, p, 0, NULL, NULL, "drop-ins for agent '%s', but no %s%s; ignoring them",
                                       name, name, SUFFIX_MAIN);
                        i = j;
                        continue;
                }

                AgentSource *s = &out[n_out];
                *s = (AgentSource) {};
                if (path_join(search_path[l.v[i].dir], l.v[i].file, &s->main_path) < 0)
                        goto oom;
                s->name = TAKE_PTR(name);
                n_out++;
                if (first_dropin < j) {
                        k = collect_dropins(search_path, l.v + first_dropin, j - first_dropin, r, &s->dropins,
                                            &s->n_dropins);
                        if (k < 0)
                                goto oom;
                }
                i = j;
        }

        *ret = out;
        *ret_n = n_out;
        return 0;

oom:
        agent_sources_free(out, n_out);
        return -ENOMEM;
}
