/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"
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

static bool credential_id_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 128 || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= '0' && s[i] <= '9') || strchr("._-", s[i])))
                        return false;
        return true;
}

static int add_secret(Agent *a, const char *path, const IniEntry *e, Report *r) {
        char ex[96];

        if (!secret_name_is_valid(e->key)) {
                report_error(r, path, e->line, e->section, e->key,
                             "invalid secret name; expected [a-z0-9] then up to 63 of [a-z0-9._-]");
                return -EINVAL;
        }
        if (strncmp(e->value, "cred:", 5) == 0) {
                if (!credential_id_is_valid(e->value + 5)) {
                        report_error(r, path, e->line, e->section, e->key,
                                     "'%s' is not a valid credential ID (letters, digits, '.', '_', '-')",
                                     printable_excerpt(e->value, ex, sizeof ex));
                        return -EINVAL;
                }
        } else if (!path_is_normalized_absolute(e->value) || streq(e->value, "/")) {
                report_error(r, path, e->line, e->section, e->key,
                             "'%s' is neither an absolute, normalised host path nor cred:ID",
                             printable_excerpt(e->value, ex, sizeof ex));
                return -EINVAL;
        } else {
                /* Everyone can write there, and the unit sees a private copy
                 * of them (PrivateTmp=): a secret can never come from there. */
                static const char *const refused[] = { "/tmp", "/var/tmp", "/dev/shm" };
                for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                        size_t n = strlen(refused[i]);
                        if (strncmp(e->value, refused[i], n) == 0 && (e->value[n] == '/' || e->value[n] == '\0')) {
                                report_error(r, path, e->line, e->section, e->key,
                                             "'%s' is below %s, which everyone can write; keep secrets in a "
                                             "directory only root can write (e.g. /etc/agentcage)",
                                             printable_excerpt(e->value, ex, sizeof ex), refused[i]);
                                return -EINVAL;
                        }
                }
        }

        AgentSecret *t = realloc(a->secrets, (a->n_secrets + 1) * sizeof *t);
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

static void free_files(IniFile **files, size_t n) {
        for (size_t i = 0; i < n; i++)
                ini_file_free(files[i]);
        free(files);
}

int agent_load(const char *name, const char *main_path, char *const *dropins, size_t n_dropins,
               Report *r, Agent **ret) {
        _cleanup_agent_free_ Agent *a = NULL;
        IniFile **files = NULL;
        size_t n_files = 0;
        Effective eff[64] = {};
        _cleanup_free_ SecretSetting *secrets = NULL;
        size_t n_secret_settings = 0;
        unsigned errors_before = r->n_errors;
        int ret_r = 0;
        bool load_failed = false;

        _Static_assert(ELEMENTSOF(eff) >= 32, "schema grew beyond the effective-value table");

        a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->name = strdup(name);
        a->source_path = strdup(main_path);
        if (!a->name || !a->source_path)
                return -ENOMEM;
        if (schema_apply_defaults(a) < 0)
                return log_error_errno(-EINVAL, "Built-in default does not parse; this is a bug.");

        files = calloc(n_dropins + 1, sizeof *files);
        if (!files)
                return -ENOMEM;

        /* Load the main file, then the drop-ins in order. A masked drop-in is
         * skipped like systemd skips a masked unit drop-in. */
        for (size_t i = 0; i <= n_dropins; i++) {
                const char *path = i == 0 ? main_path : dropins[i - 1];
                IniFile *f = NULL;
                int k = ini_file_load(path, r, &f);

                if (k == -ENOMEM) {
                        ret_r = k;
                        goto finish;
                }
                if (k < 0) {
                        load_failed = true;
                        continue; /* reported; keep looking for more errors */
                }
                if (k == INI_MASKED) {
                        if (i == 0) {
                                ret_r = AGENT_MASKED;
                                goto finish;
                        }
                        log_debug("%s: masked drop-in, skipping.", path);
                        continue;
                }
                files[n_files++] = f;
        }

        for (size_t fi = 0; fi < n_files; fi++) {
                const IniFile *f = files[fi];

                for (size_t i = 0; i < f->n_entries; i++) {
                        const IniEntry *e = &f->entries[i];
                        bool section_known;
                        const SchemaKey *k = schema_find(e->section, e->key, &section_known);

                        if (!k) {
                                char known[512] = "";
                                size_t off = 0;

                                for (size_t j = 0; j < schema_n_keys && off < sizeof known; j++) {
                                        const SchemaKey *sk = &schema_keys[j];
                                        bool want = section_known ? strcasecmp(sk->section, e->section) == 0
                                                                  : (j == 0 || strcmp(sk->section, schema_keys[j - 1].section) != 0);
                                        if (!want)
                                                continue;
                                        off += (size_t) snprintf(known + off, sizeof known - off, "%s%s",
                                                                 off ? ", " : "",
                                                                 section_known ? sk->key : sk->section);
                                }
                                if (section_known)
                                        report_error(r, f->path, e->line, e->section, e->key,
                                                     "unknown key; keys of [%s] are: %s", e->section, known);
                                else
                                        report_error(r, f->path, e->line, e->section, e->key,
                                                     "unknown section [%s]; sections are: %s", e->section, known);
                                continue;
                        }

                        if (!k->parse) {
                                /* [Secrets]: one setting per secret name, later files override. */
                                size_t j;
                                for (j = 0; j < n_secret_settings; j++)
                                        if (strcasecmp(secrets[j].entry->key, e->key) == 0)
                                                break;
                                if (j == n_secret_settings) {
                                        SecretSetting *t = realloc(secrets, (n_secret_settings + 1) * sizeof *t);
                                        if (!t) {
                                                ret_r = -ENOMEM;
                                                goto finish;
                                        }
                                        secrets = t;
                                        n_secret_settings++;
                                }
                                secrets[j] = (SecretSetting) { e, f->path };
                                continue;
                        }

                        eff[k - schema_keys] = (Effective) { e, f->path };
                }
        }

        /* Parse each key's final value once. An empty value keeps the
         * default, which was applied at the start. */
        for (size_t i = 0; i < schema_n_keys; i++) {
                const SchemaKey *k = &schema_keys[i];
                const IniEntry *e = eff[i].entry;
                char why[256] = "", ex[96];
                int p;

                if (!e) {
                        if (k->required && !load_failed)
                                report_error(r, main_path, 0, k->section, k->key,
                                             "required key is missing; expected %s", k->allowed);
                        continue;
                }
                if (e->value[0] == '\0') {
                        if (k->required)
                                report_error(r, eff[i].path, e->line, e->section, e->key,
                                             "required key is empty; expected %s", k->allowed);
                        continue;
                }
                p = k->parse(k, e->value, a, why, sizeof why);
                if (p == -ENOMEM) {
                        ret_r = p;
                        goto finish;
                }
                if (p < 0)
                        report_error(r, eff[i].path, e->line, e->section, e->key, "'%s' %s%s%s; expected %s",
                                     printable_excerpt(e->value, ex, sizeof ex), error_kind(p),
                                     why[0] ? ": " : "", why, k->allowed);
        }

        for (size_t i = 0; i < n_secret_settings; i++) {
                if (secrets[i].entry->value[0] == '\0')
                        continue; /* reset: no such secret */
                int p = add_secret(a, secrets[i].path, secrets[i].entry, r);
                if (p == -ENOMEM) {
                        ret_r = p;
                        goto finish;
                }
        }

        /* Keys that only make sense together. */
        if (a->watchdog_usec > 0 && !a->notify && !load_failed) {
                const Effective *w = &eff[schema_find("Lifecycle", "WatchdogSec", NULL) - schema_keys];
                report_error(r, w->path ? w->path : main_path, w->entry ? w->entry->line : 0, "Lifecycle",
                             "WatchdogSec", "heartbeats need Notify=yes (the agent sends WATCHDOG=1 over $NOTIFY_SOCKET)");
        }

        if (!a->description) {
                char buf[80];
                (void) snprintf(buf, sizeof buf, "Agent %s", name);
                a->description = strdup(buf);
                if (!a->description) {
                        ret_r = -ENOMEM;
                        goto finish;
                }
        }

        if (n_dropins > 0) {
                a->dropin_paths = calloc(n_dropins + 1, sizeof(char *));
                if (!a->dropin_paths) {
                        ret_r = -ENOMEM;
                        goto finish;
                }
                for (size_t i = 0; i < n_dropins; i++)
                        if (!(a->dropin_paths[i] = strdup(dropins[i]))) {
                                ret_r = -ENOMEM;
                                goto finish;
                        }
        }

finish:
        free_files(files, n_files);
        if (ret_r != 0)
                return ret_r;
        if (r->n_errors > errors_before)
                return -EINVAL;
        *ret = TAKE_PTR(a);
        return 0;
}
