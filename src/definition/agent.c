/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
#include "credential-shares.h"
#include "definition.h"
#include "ini.h"
#include "log.h"
#include "parse-value.h"
#include "schema.h"

Agent *agent_free(Agent *a) {
        if (!a)
                return NULL;
        free(a->name);
        free(a->source_path);
        strv_free(a->dropin_paths);
        free(a->image);
        free(a->image_digest);
        strv_free(a->image_allow);
        strv_free(a->exec);
        strv_free(a->health_check);
        free(a->description);
        strv_free(a->environment);
        free(a->working_directory);
        strv_free(a->system_calls);
        free(a->shared_state);
        for (size_t i = 0; i < a->n_secrets; i++) {
                free(a->secrets[i].name);
                free(a->secrets[i].source);
        }
        free(a->secrets);
        strv_free(a->egress_allow);
        strv_free(a->egress_deny);
        free(a);
        return NULL;
}

/* The value of one key after all files were applied, and where it came from. */
typedef struct Effective {
        const IniEntry *entry;
        const char *path;
} Effective;

typedef struct SecretSetting {
        const IniEntry *entry;
        const char *path;
} SecretSetting;

/* What agent_load() gathers from the files before anything is parsed. */
typedef struct Loading {
        Agent *agent;
        const char *main_path;
        int main_dir_fd;       /* where main_file is, or AT_FDCWD */
        const char *main_file; /* main_path, or its name in main_dir_fd */
        Report *report;
        IniFile **files;
        size_t n_files;
        Effective eff[64];
        SecretSetting *secrets;
        size_t n_secrets;
        bool load_failed;
} Loading;

static int secret_check_source(const Agent *a, const char *path, const IniEntry *e, Report *r) {
        const char *rule = NULL;
        char ex[96];
        int k = secret_source_check(a->name, e->value, &rule);

        if (k == -EACCES) {
                int s = credential_is_shared(e->value + 5, a->name, r);
                if (s > 0)
                        return 0;
                report_error(r, path, e->line, e->section, e->key, "'%s' is refused: %s (%s%s)",
                             printable_excerpt(e->value, ex, sizeof ex), rule, credential_shares_path(),
                             s < 0 ? " is invalid" : " does not share it");
                return -EACCES;
        }
        if (k == -EPERM) {
                report_error(r, path, e->line, e->section, e->key, "'%s' is refused: %s (%s/)",
                             printable_excerpt(e->value, ex, sizeof ex), rule, secrets_dir());
                return k;
        }
        if (k < 0)
                report_error(r, path, e->line, e->section, e->key, "'%s' is refused: %s",
                             printable_excerpt(e->value, ex, sizeof ex), rule);
        return k;
}

static int add_secret(Agent *a, const char *path, const IniEntry *e, Report *r) {
        AgentSecret *t;

        if (!secret_name_is_valid(e->key)) {
                report_error(r, path, e->line, e->section, e->key,
                             "invalid secret name; expected [a-z0-9] then up to %d of [a-z0-9._-]",
                             SECRET_NAME_MAX - 1);
                return -EINVAL;
        }
        if (secret_check_source(a, path, e, r) < 0)
                return -EINVAL;

        t = realloc(a->secrets, (a->n_secrets + 1) * sizeof *t);
        if (!t)
                return -ENOMEM;
        a->secrets = t;
        t[a->n_secrets] = (AgentSecret) { strdup(e->key), strdup(e->value) };
        if (!t[a->n_secrets].name || !t[a->n_secrets].source) {
                free(t[a->n_secrets].name);
                free(t[a->n_secrets].source);
                return -ENOMEM;
        }
        a->n_secrets++;
        return 0;
}

static const char *error_kind(int r) {
        switch (r) {
        case -ERANGE: return "is out of range";
        case -EPERM:  return "is not allowed";
        case -E2BIG:  return "is too long";
        default:      return "is not valid";
        }
}

static void loading_done(Loading *l) {
        for (size_t i = 0; i < l->n_files; i++)
                ini_file_free(l->files[i]);
        free(l->files);
        free(l->secrets);
}

/* Loads the main file, then the drop-ins in order. A masked drop-in is
 * skipped like systemd skips a masked unit drop-in. */
static int load_files(Loading *l, char *const *dropins, size_t n_dropins) {
        l->files = calloc(n_dropins + 1, sizeof *l->files);
        if (!l->files)
                return -ENOMEM;

        for (size_t i = 0; i <= n_dropins; i++) {
                const char *path = i == 0 ? l->main_path : dropins[i - 1];
                IniFile *f = NULL;
                int k = i == 0 ? ini_file_load_at(l->main_dir_fd, l->main_file, path, l->report, &f)
                               : ini_file_load(path, l->report, &f);

                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        l->load_failed = true;
                        continue; /* reported; keep looking for more errors */
                }
                if (k == INI_MASKED) {
                        if (i == 0)
                                return AGENT_MASKED;
                        log_debug("%s: masked drop-in, skipping.", path);
                        continue;
                }
                l->files[l->n_files++] = f;
        }
        return 0;
}

static void report_unknown_key(Report *r, const IniFile *f, const IniEntry *e, bool section_known) {
        char known[512] = "";
        size_t off = 0;

        for (size_t j = 0; j < schema_n_keys && off < sizeof known; j++) {
                const SchemaKey *sk = &schema_keys[j];
                bool want = section_known ? strcasecmp(sk->section, e->section) == 0
                                          : (j == 0 || strcmp(sk->section, schema_keys[j - 1].section) != 0);
                if (!want)
                        continue;
                off += (size_t) snprintf(known + off, sizeof known - off, "%s%s", off ? ", " : "",
                                         section_known ? sk->key : sk->section);
        }
        if (section_known)
                report_error(r, f->path, e->line, e->section, e->key, "unknown key; keys of [%s] are: %s",
                             e->section, known);
        else
                report_error(r, f->path, e->line, e->section, e->key, "unknown section [%s]; sections are: %s",
                             e->section, known);
}

/* [Secrets]: one setting per secret name, later files override. */
static int set_secret(Loading *l, const IniEntry *e, const char *path) {
        size_t j;

        for (j = 0; j < l->n_secrets; j++)
                if (strcasecmp(l->secrets[j].entry->key, e->key) == 0)
                        break;
        if (j == l->n_secrets) {
                SecretSetting *t = realloc(l->secrets, (l->n_secrets + 1) * sizeof *t);
                if (!t)
                        return -ENOMEM;
                l->secrets = t;
                l->n_secrets++;
        }
        l->secrets[j] = (SecretSetting) { e, path };
        return 0;
}

/* Finds the effective entry of every key, over all files in order. */
static int collect_entries(Loading *l) {
        for (size_t fi = 0; fi < l->n_files; fi++) {
                const IniFile *f = l->files[fi];

                for (size_t i = 0; i < f->n_entries; i++) {
                        const IniEntry *e = &f->entries[i];
                        bool section_known;
                        const SchemaKey *k = schema_find(e->section, e->key, &section_known);

                        if (!k)
                                report_unknown_key(l->report, f, e, section_known);
                        else if (!k->parse) {
                                if (set_secret(l, e, f->path) < 0)
                                        return -ENOMEM;
                        } else
                                l->eff[k - schema_keys] = (Effective) { e, f->path };
                }
        }
        return 0;
}

/* Parses each key's final value once. An empty value keeps the default,
 * which was applied at the start. */
static int parse_effective(Loading *l) {
        Report *r = l->report;

        for (size_t i = 0; i < schema_n_keys; i++) {
                const SchemaKey *k = &schema_keys[i];
                const IniEntry *e = l->eff[i].entry;
                char why[256], ex[96];
                int p;

                if (!e) {
                        if (k->required && !l->load_failed)
                                report_error(r, l->main_path, 0, k->section, k->key,
                                             "required key is missing; expected %s", k->allowed);
                        continue;
                }
                if (e->value[0] == '\0') {
                        if (k->required)
                                report_error(r, l->eff[i].path, e->line, e->section, e->key,
                                             "required key is empty; expected %s", k->allowed);
                        continue;
                }
                why[0] = '\0'; /* not the whole array: this runs for every key of every agent */
                p = k->parse(k, e->value, l->agent, why, sizeof why);
                if (p == -ENOMEM)
                        return p;
                if (p < 0)
                        report_error(r, l->eff[i].path, e->line, e->section, e->key, "'%s' %s%s%s; expected %s",
                                     printable_excerpt(e->value, ex, sizeof ex), error_kind(p),
                                     why[0] ? ": " : "", why, k->allowed);
        }
        return 0;
}

/* The secrets still set after all files (an empty value resets one), at
 * most SECRETS_MAX: each becomes a file, a mount and a runtime argument. */
static int add_secrets(Loading *l) {
        size_t n = 0;

        for (size_t i = 0; i < l->n_secrets; i++) {
                const SecretSetting *s = &l->secrets[i];
                int p;

                if (s->entry->value[0] == '\0')
                        continue;
                if (++n == SECRETS_MAX + 1)
                        report_error(l->report, s->path, s->entry->line, s->entry->section, s->entry->key,
                                     "more than %d secrets; at most %d are allowed", SECRETS_MAX, SECRETS_MAX);
                if (n > SECRETS_MAX)
                        continue;
                p = add_secret(l->agent, s->path, s->entry, l->report);
                if (p == -ENOMEM)
                        return p;
        }
        return 0;
}

/* Keys that only make sense together. */
static void check_combinations(Loading *l) {
        const Agent *a = l->agent;

        if (a->watchdog_usec > 0 && !a->notify && !l->load_failed) {
                const Effective *w = &l->eff[schema_find("Lifecycle", "WatchdogSec", NULL) - schema_keys];
                report_error(l->report, w->path ? w->path : l->main_path, w->entry ? w->entry->line : 0,
                             "Lifecycle", "WatchdogSec",
                             "heartbeats need Notify=yes (the agent sends WATCHDOG=1 over $NOTIFY_SOCKET)");
        }
}

/* The defaults are parsed once per process into a template, then copied:
 * of its strings only WorkingDirectory= has a default. */
static int agent_apply_defaults(Agent *a) {
        static Agent template;
        static int parsed; /* 0: not yet, 1: done, <0: a default does not parse */
        char *name = a->name, *source_path = a->source_path;

        if (parsed == 0) {
                int k = schema_apply_defaults(&template);
                if (k == -ENOMEM)
                        return k; /* try again next time */
                parsed = k < 0 ? -EINVAL : 1;
                if (parsed > 0 && (template.image || template.image_digest || template.exec || template.health_check ||
                                   template.description || template.environment || template.system_calls ||
                                   template.shared_state || !template.working_directory))
                        parsed = -EINVAL; /* a new string default must be copied below */
        }
        if (parsed < 0)
                return parsed;
        *a = template;
        a->name = name;
        a->source_path = source_path;
        a->working_directory = strdup(template.working_directory);
        return a->working_directory ? 0 : -ENOMEM;
}

static int agent_new(const char *name, const char *main_path, Agent **ret) {
        _cleanup_agent_free_ Agent *a = calloc(1, sizeof *a);

        if (!a)
                return -ENOMEM;
        a->name = strdup(name);
        a->source_path = strdup(main_path);
        if (!a->name || !a->source_path)
                return -ENOMEM;
        int k = agent_apply_defaults(a);
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                return log_error_errno(k, "Built-in default does not parse; this is a bug.");
        *ret = TAKE_PTR(a);
        return 0;
}

static int agent_finish(Agent *a, char *const *dropins, size_t n_dropins) {
        if (!a->description) {
                char buf[80];
                (void) snprintf(buf, sizeof buf, "Agent %s", a->name);
                a->description = strdup(buf);
                if (!a->description)
                        return -ENOMEM;
        }
        if (n_dropins > 0) {
                a->dropin_paths = calloc(n_dropins + 1, sizeof(char *));
                if (!a->dropin_paths)
                        return -ENOMEM;
                for (size_t i = 0; i < n_dropins; i++)
                        if (!(a->dropin_paths[i] = strdup(dropins[i])))
                                return -ENOMEM;
        }
        return 0;
}

static int agent_load_at(const char *name, int main_dir_fd, const char *main_file, const char *main_path,
                         char *const *dropins, size_t n_dropins, Report *r, Agent **ret) {
        _cleanup_agent_free_ Agent *a = NULL;
        _cleanup_(loading_done) Loading l = {
                .main_path = main_path, .main_dir_fd = main_dir_fd, .main_file = main_file, .report = r,
        };
        unsigned errors_before = r->n_errors;
        int k;

        _Static_assert(ELEMENTSOF(l.eff) >= 32, "schema grew beyond the effective-value table");

        k = agent_new(name, main_path, &a);
        if (k < 0)
                return k;
        l.agent = a;
        k = load_files(&l, dropins, n_dropins);
        if (k >= 0 && k != AGENT_MASKED)
                k = collect_entries(&l);
        if (k >= 0 && k != AGENT_MASKED)
                k = parse_effective(&l);
        if (k >= 0 && k != AGENT_MASKED)
                k = add_secrets(&l);
        if (k != 0)
                return k;
        check_combinations(&l);
        k = agent_finish(a, dropins, n_dropins);
        if (k < 0)
                return k;
        if (r->n_errors > errors_before)
                return -EINVAL;
        *ret = TAKE_PTR(a);
        return 0;
}

int agent_load(const char *name, const char *main_path, char *const *dropins, size_t n_dropins,
               Report *r, Agent **ret) {
        return agent_load_at(name, AT_FDCWD, main_path, main_path, dropins, n_dropins, r, ret);
}

int agent_load_source(const AgentSource *s, Report *r, Agent **ret) {
        if (!s->main_file)
                return agent_load(s->name, s->main_path, s->dropins, s->n_dropins, r, ret);
        return agent_load_at(s->name, s->main_dir_fd, s->main_file, s->main_path, s->dropins, s->n_dropins, r, ret);
}
