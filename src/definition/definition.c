/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "buffer.h"
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
                        if (!path_is_normalized_absolute(t))
                                return log_error_errno(-EINVAL, "AGENTCAGE_PATH entry '%s' is not absolute, or not normalised.",
                                                       string_is_printable_utf8(t, false) ? t : "(unprintable)");
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

/* One directory entry that matters. File names live back to back in one
 * arena, so that 10,000 agents cost one allocation, not 10,000. */
typedef struct Entry {
        uint32_t file;    /* offset of the file name in the arena */
        uint16_t dir;     /* index in the search path: lower wins */
        uint8_t base_len; /* length of NAME (the file name without suffix) */
        uint8_t kind;
} Entry;
/* Eight bytes: glibc's qsort_r() moves those as one word, others byte-wise. */
_Static_assert(sizeof(Entry) == 8, "Entry is sorted as one 64-bit word");

typedef struct EntryList {
        Entry *v;
        size_t n, allocated;
        Buffer names;
} EntryList;

static void entry_list_clear(EntryList *l) {
        free(l->v);
        buffer_done(&l->names);
        *l = (EntryList) {};
}

static const char *entry_file(const EntryList *l, const Entry *e) {
        return l->names.data + e->file;
}

static int entry_list_add(EntryList *l, const char *file, size_t base_len, unsigned dir, EntryKind kind) {
        if (base_len > UINT8_MAX || dir > UINT16_MAX || l->names.len > UINT32_MAX - NAME_MAX - 1)
                return -E2BIG;
        if (array_grow(&l->v, &l->allocated, l->n, sizeof *l->v, 64) < 0)
                return -ENOMEM;
        l->v[l->n] = (Entry) { (uint32_t) l->names.len, (uint16_t) dir, (uint8_t) base_len, (uint8_t) kind };
        buffer_put(&l->names, file, strlen(file) + 1);
        if (buffer_status(&l->names) < 0)
                return -ENOMEM;
        l->n++;
        return 0;
}

static int entry_cmp(const void *a, const void *b, void *userdata) {
        const EntryList *l = userdata;
        const Entry *x = a, *y = b;
        size_t n = MIN(x->base_len, y->base_len);
        int c = memcmp(entry_file(l, x), entry_file(l, y), n);

        if (c != 0)
                return c;
        if (x->base_len != y->base_len)
                return x->base_len < y->base_len ? -1 : 1;
        if (x->kind != y->kind)
                return x->kind < y->kind ? -1 : 1;
        return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static bool same_name(const EntryList *l, const Entry *x, const Entry *y) {
        return x->base_len == y->base_len && memcmp(entry_file(l, x), entry_file(l, y), x->base_len) == 0;
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static int path_join(const char *a, const char *b, char **ret) {
        char buf[PATH_MAX];

        if (STRJOIN_BUF(buf, sizeof buf, a, "/", b) < 0)
                return -ENAMETOOLONG;
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* Reads entries ending in suffix from dir into l, tagged with dir_index. */
static int read_directory(const char *dir, unsigned dir_index, bool dropins, Report *r, EntryList *l) {
        _cleanup_(closedirp) DIR *d = opendir(dir);
        struct dirent *de;
        int k;

        if (!d) {
                if (errno != ENOENT || dropins)
                        report_warning(r, dir, 0, NULL, NULL, "cannot read directory (%s), ignoring", strerror(errno));
                return 0;
        }
        while ((errno = 0, de = readdir(d))) {
                size_t base_len, len = strlen(de->d_name);

                if (de->d_name[0] == '.' && (len == 1 || (len == 2 && de->d_name[1] == '.')))
                        continue;
                if (dropins) {
                        if (de->d_name[0] == '.' || !has_suffix(de->d_name, len, SUFFIX_DROPIN, &base_len))
                                continue;
                        /* Drop-ins are told apart by their whole file name. */
                        k = entry_list_add(l, de->d_name, len, dir_index, ENTRY_MAIN);
                } else if (has_suffix(de->d_name, len, SUFFIX_MAIN, &base_len))
                        k = entry_list_add(l, de->d_name, base_len, dir_index, ENTRY_MAIN);
                else if (has_suffix(de->d_name, len, SUFFIX_DROPIN_DIR, &base_len))
                        k = entry_list_add(l, de->d_name, base_len, dir_index, ENTRY_DROPIN_DIR);
                else
                        continue;
                if (k < 0)
                        return k;
        }
        if (errno != 0)
                report_warning(r, dir, 0, NULL, NULL, "error reading directory (%s)", strerror(errno));
        return 0;
}

/* A file name is an operator string that reaches the unit (its header
 * comment): control characters (a line break could add a directive) and
 * bytes that are not UTF-8 are refused. */
static bool dropin_name_is_valid(const char *search_dir, const EntryList *top, const Entry *dir, const char *file,
                                 Report *r) {
        char path[PATH_MAX];

        if (string_is_printable_utf8(file, false))
                return true;
        (void) snprintf(path, sizeof path, "%s/%s/%s", search_dir, entry_file(top, dir), file);
        report_error(r, path, 0, NULL, NULL,
                     "the drop-in's file name contains a control character or invalid UTF-8 (shown as '?'); "
                     "rename it");
        return false;
}

/* Reads the NAME.agent.d directories dirs[0..n) (one per search directory)
 * into a sorted, de-duplicated list of drop-in paths. */
static int collect_dropins(char *const *search_path, const EntryList *top, const Entry *dirs, size_t n_dirs,
                           Report *r, char ***ret, size_t *ret_n) {
        _cleanup_(entry_list_clear) EntryList l = {};
        _cleanup_strv_free_ char **v = NULL;
        size_t n = 0;
        bool bad = false;
        int k;

        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *dir_path = NULL;

                if (path_join(search_path[dirs[i].dir], entry_file(top, &dirs[i]), &dir_path) < 0)
                        return -ENOMEM;
                k = read_directory(dir_path, dirs[i].dir, true, r, &l);
                if (k < 0)
                        return k;
        }

        if (l.n > 0) /* qsort_r() must not see NULL, even for nothing */
                qsort_r(l.v, l.n, sizeof(Entry), entry_cmp, &l);
        v = calloc(l.n + 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < l.n; i++) {
                /* Sorted by name, then priority: a repeat of the previous name
                 * comes from a lower-priority directory and is overridden. */
                if (i > 0 && same_name(&l, &l.v[i - 1], &l.v[i]))
                        continue;
                for (size_t j = 0; j < n_dirs; j++)
                        if (dirs[j].dir == l.v[i].dir && !dropin_name_is_valid(search_path[dirs[j].dir], top, &dirs[j],
                                                                               entry_file(&l, &l.v[i]), r))
                                bad = true;
                        else if (dirs[j].dir == l.v[i].dir) {
                                if (asprintf(&v[n], "%s/%s/%s", search_path[dirs[j].dir], entry_file(top, &dirs[j]),
                                             entry_file(&l, &l.v[i])) < 0) {
                                        v[n] = NULL;
                                        return -ENOMEM;
                                }
                                n++;
                                break;
                        }
        }
        if (bad)
                return -EBADMSG;
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

static void agent_source_done(AgentSource *s) {
        free(s->name);
        free(s->main_path);
        strv_free(s->dropins);
        *s = (AgentSource) {};
}

void agent_sources_free(AgentSource *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                agent_source_done(&s[i]);
        free(s);
}

/* The search directories, open (-1 for one that cannot be opened). */
typedef struct DirFds {
        int *fd;
        size_t n;
} DirFds;

static void dir_fds_close(DirFds *d) {
        for (size_t i = 0; i < d->n; i++)
                if (d->fd[i] >= 0)
                        (void) close(d->fd[i]);
        free(d->fd);
}

int definitions_foreach(char *const *search_path, Report *r, definitions_callback_t cb, void *userdata) {
        _cleanup_(entry_list_clear) EntryList l = {};
        _cleanup_(dir_fds_close) DirFds dirs = {};
        size_t n_dirs = strv_length(search_path);
        int k;

        /* Each search directory stays open: a definition is opened in it by
         * its file name, not walked to from / again. */
        dirs.fd = calloc(MAX(n_dirs, (size_t) 1), sizeof(int));
        if (!dirs.fd)
                return -ENOMEM;
        for (; dirs.n < n_dirs; dirs.n++)
                dirs.fd[dirs.n] = open(search_path[dirs.n], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (unsigned i = 0; search_path[i]; i++) {
                k = read_directory(search_path[i], i, false, r, &l);
                if (k < 0)
                        return k;
        }

        if (l.n > 0)
                qsort_r(l.v, l.n, sizeof(Entry), entry_cmp, &l);

        /* Only the agent at hand has its paths allocated: memory does not
         * grow with the number of agents beyond the sorted name list. */
        for (size_t i = 0; i < l.n;) {
                AgentSource s = {};
                size_t j = i, first_dropin;

                while (j < l.n && same_name(&l, &l.v[i], &l.v[j]))
                        j++;
                /* l.v[i..j) all belong to NAME: mains first (by priority), then drop-in dirs. */
                for (first_dropin = i; first_dropin < j && l.v[first_dropin].kind == ENTRY_MAIN; first_dropin++)
                        ;

                if (dirs.fd[l.v[i].dir] >= 0) {
                        s.main_dir_fd = dirs.fd[l.v[i].dir];
                        s.main_file = entry_file(&l, &l.v[i]);
                }
                s.name = strndup(entry_file(&l, &l.v[i]), l.v[i].base_len);
                if (!s.name || path_join(search_path[l.v[i].dir], entry_file(&l, &l.v[i]), &s.main_path) < 0) {
                        agent_source_done(&s);
                        return -ENOMEM;
                }

                if (!agent_name_is_valid(s.name))
                        report_error(r, s.main_path, 0, NULL, NULL,
                                     "invalid agent name '%s'; expected [a-z0-9] then up to 62 of [a-z0-9-], "
                                     "not ending in '-'", s.name);
                else if (first_dropin == i)
                        report_warning(r, s.main_path, 0, NULL, NULL,
                                       "drop-ins for agent '%s', but no %s%s; ignoring them", s.name, s.name,
                                       SUFFIX_MAIN);
                else {
                        k = 0;
                        if (first_dropin < j)
                                k = collect_dropins(search_path, &l, l.v + first_dropin, j - first_dropin, r,
                                                    &s.dropins, &s.n_dropins);
                        if (k == -EBADMSG) {
                                log_error("%s: agent %s rejected, no unit generated.", s.main_path, s.name);
                                k = 0;
                        } else if (k >= 0)
                                k = cb(&s, userdata);
                        if (k < 0) {
                                agent_source_done(&s);
                                return k;
                        }
                }
                agent_source_done(&s);
                i = j;
        }
        return 0;
}

typedef struct Collect {
        AgentSource *v;
        size_t n, allocated;
} Collect;

static int collect_one(const AgentSource *s, void *userdata) {
        Collect *c = userdata;
        AgentSource *t;

        if (array_grow(&c->v, &c->allocated, c->n, sizeof *c->v, 16) < 0)
                return -ENOMEM;
        t = &c->v[c->n];
        *t = (AgentSource) { .n_dropins = s->n_dropins };
        t->name = strdup(s->name);
        t->main_path = strdup(s->main_path);
        t->dropins = calloc(s->n_dropins + 1, sizeof(char *));
        c->n++; /* counted now, so that a failure below is freed with the rest */
        if (!t->name || !t->main_path || !t->dropins)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_dropins; i++)
                if (!(t->dropins[i] = strdup(s->dropins[i])))
                        return -ENOMEM;
        return 0;
}

int definitions_discover(char *const *search_path, Report *r, AgentSource **ret, size_t *ret_n) {
        Collect c = {};
        int k = definitions_foreach(search_path, r, collect_one, &c);

        if (k < 0) {
                agent_sources_free(c.v, c.n);
                return k;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}
