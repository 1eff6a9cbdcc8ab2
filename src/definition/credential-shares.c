/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credential-shares.h"
#include "ini.h"
#include "parse-value.h"

const char *credential_shares_path(void) {
        const char *e = getenv("AGENTCAGE_CREDENTIAL_SHARES");
        return e && path_is_normalized_absolute(e) ? e : CREDENTIAL_SHARES_PATH;
}

/* Every entry of the loaded file is checked once, here. */
static int shares_check(const IniFile *f, Report *r) {
        unsigned errors = r->n_errors;

        for (size_t i = 0; i < f->n_entries; i++) {
                const IniEntry *e = &f->entries[i];
                _cleanup_strv_free_ char **agents = NULL;
                size_t n = 0;

                if (strcasecmp(e->section, "Shared") != 0) {
                        report_error(r, f->path, e->line, e->section, NULL, "unknown section; the only one is [Shared]");
                        continue;
                }
                if (!credential_id_is_valid(e->key)) {
                        report_error(r, f->path, e->line, e->section, e->key, "not a valid credential ID");
                        continue;
                }
                if (split_words(e->value, 1024, &agents, &n) < 0 || n == 0) {
                        report_error(r, f->path, e->line, e->section, e->key, "expected agent names separated by spaces");
                        continue;
                }
                for (size_t j = 0; j < n; j++)
                        if (!agent_name_is_valid(agents[j]))
                                report_error(r, f->path, e->line, e->section, e->key, "'%s' is not an agent name",
                                             agents[j]);
        }
        return r->n_errors > errors ? -EINVAL : 0;
}

static int shares_load(Report *r, IniFile **ret) {
        const char *path = credential_shares_path();
        struct stat st;
        int k;

        if (stat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                report_error(r, path, 0, NULL, NULL, "cannot stat: %s; sharing no credentials", strerror(errno));
                return -errno;
        }
        /* Who can write this file decides who reads which credential. */
        if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0022)) {
                report_error(r, path, 0, NULL, NULL,
                             "must be owned by root and not writable by group or others; sharing no credentials");
                return -EPERM;
        }
        k = ini_file_load(path, r, ret);
        if (k == INI_MASKED)
                return 0;
        if (k < 0)
                return k;
        k = shares_check(*ret, r);
        if (k < 0)
                *ret = ini_file_free(*ret);
        return k;
}

int credential_is_shared(const char *id, const char *agent, Report *r) {
        static IniFile *shares;
        static int loaded; /* 0: not yet, 1: loaded, <0: invalid */

        if (loaded == 0) {
                int k = shares_load(r, &shares);
                loaded = k < 0 ? k : 1;
        }
        if (loaded < 0)
                return loaded;
        for (size_t i = 0; shares && i < shares->n_entries; i++) {
                _cleanup_strv_free_ char **agents = NULL;
                size_t n = 0;

                if (!streq(shares->entries[i].key, id))
                        continue;
                if (split_words(shares->entries[i].value, 1024, &agents, &n) < 0)
                        return -ENOMEM;
                for (size_t j = 0; j < n; j++)
                        if (streq(agents[j], agent))
                                return 1;
        }
        return 0;
}
