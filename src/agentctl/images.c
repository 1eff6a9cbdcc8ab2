/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl images and agentctl pull (images.h). Which agents use an entry is
 * read from the definitions with libagentcage, the generator's own code; the
 * cache itself is the runtime's (oci-cache.c). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "capture.h"
#include "ctl-util.h"
#include "ctl.h"
#include "definition.h"
#include "image-ref.h"
#include "images.h"
#include "json.h"
#include "log.h"
#include "oci.h"
#include "parse-value.h"



/* Every defined agent whose Image= is a reference, as (name, reference). */
typedef struct Uses {
        char **names;
        char **refs;
        size_t n;
} Uses;

static void uses_done(Uses *u) {
        for (size_t i = 0; i < u->n; i++) {
                free(u->names[i]);
                free(u->refs[i]);
        }
        free(u->names);
        free(u->refs);
        *u = (Uses) {};
}

static int uses_add(Uses *u, const char *name, const char *ref) {
        char **nn = reallocarray(u->names, u->n + 1, sizeof(char *));
        if (!nn)
                return -ENOMEM;
        u->names = nn;
        nn = reallocarray(u->refs, u->n + 1, sizeof(char *));
        if (!nn)
                return -ENOMEM;
        u->refs = nn;
        u->names[u->n] = strdup(name);
        u->refs[u->n] = strdup(ref);
        if (!u->names[u->n] || !u->refs[u->n]) {
                free(u->names[u->n]);
                free(u->refs[u->n]);
                return -ENOMEM;
        }
        u->n++;
        return 0;
}

/* Definitions that do not load are no one's use of an image; `agentctl
 * verify` shows their problems. */
static int collect_uses(Uses *u, const char *only, char **ret_ref, char ***ret_allow) {
        _cleanup_strv_free_ char **path = NULL;
        AgentSource *s = NULL;
        size_t n = 0;
        Capture cap = { .quiet = true };
        Report report = {};
        int r;

        r = definitions_search_path(&path);
        if (r < 0)
                return r;
        capture_attach(&report, &cap);
        r = definitions_discover(path, &report, &s, &n);
        capture_done(&cap);
        if (r < 0)
                return log_error_errno(r, "Failed to discover agent definitions: %m");
        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_(agent_freep) Agent *a = NULL;
                if (only && !streq(s[i].name, only))
                        continue;
                if (definition_load_quiet(&s[i], &a) != 0 || !a || !a->image) {
                        if (only)
                                r = -EBADMSG;
                        continue;
                }
                if (only) {
                        *ret_ref = strdup(a->image);
                        *ret_allow = TAKE_PTR(a->image_allow);
                        r = *ret_ref ? 1 : -ENOMEM;
                        break;
                }
                if (image_ref_has_transport(a->image))
                        r = uses_add(u, s[i].name, a->image);
        }
        if (only && r == 0)
                r = -ENOENT;
        agent_sources_free(s, n);
        return r;
}

static char *format_when(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / 1000000);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M", &tm) == 0)
                (void) snprintf(buf, size, "n/a");
        return buf;
}

static int entry_json(const OciEntry *e, const Uses *u, struct json_object **ret) {
        _cleanup_json_ struct json_object *o = NULL, *agents = NULL;
        size_t n_refs = 0;
        int r;

        for (char **s = e->references; s && *s; s++)
                n_refs++;
        r = json_new_object(&o) ?: json_new_array(&agents);
        if (r < 0)
                return r;
        for (size_t j = 0; j < u->n; j++)
                if (oci_entry_matches(e, u->refs[j])) {
                        struct json_object *name = NULL;
                        r = json_new_str(u->names[j], &name) ?: json_append(agents, name);
                        if (r < 0)
                                return r;
                }
        r = json_set_str(o, "digest", e->digest) ?: json_set_strv(o, "references", e->references, n_refs) ?:
            json_set_u64(o, "size", e->size) ?: json_set_u64(o, "created", e->created) ?:
            json_set_u64(o, "last_used", e->last_used) ?: json_set_str(o, "image", e->image_path) ?:
            json_set(o, "agents", TAKE_PTR(agents));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int print_json(const OciEntry *e, size_t n, const Uses *u) {
        _cleanup_json_ struct json_object *a = NULL;
        int r = json_new_array(&a);

        for (size_t i = 0; r >= 0 && i < n; i++) {
                struct json_object *o = NULL;
                r = entry_json(&e[i], u, &o) ?: json_append(a, o);
        }
        if (r < 0)
                return log_oom();
        return json_print(stdout, a);
}

static void print_table(const OciEntry *e, size_t n, const Uses *u) {
        printf("%-19s %8s %-16s %-20s %s\n", "DIGEST", "SIZE", "LAST USE", "AGENTS", "REFERENCE");
        for (size_t i = 0; i < n; i++) {
                char size[FORMAT_BYTES_MAX], when[32], agents[256] = "-";
                size_t len = 0;

                for (size_t j = 0; j < u->n; j++)
                        if (oci_entry_matches(&e[i], u->refs[j]) && len + strlen(u->names[j]) + 2 < sizeof agents)
                                len += (size_t) snprintf(agents + len, sizeof agents - len, "%s%s",
                                                         len ? "," : "", u->names[j]);
                /* References are checked strings (printable ASCII) when
                 * written; a damaged file is still not echoed raw. */
                printf("sha256:%.12s %8s %-16s %-20s %s\n", e[i].digest + 7, format_bytes(size, sizeof size, e[i].size),
                       format_when(when, sizeof when, e[i].last_used), agents,
                       e[i].references && e[i].references[0] && string_is_printable_utf8(e[i].references[0], false)
                               ? e[i].references[0] : "?");
        }
        if (n == 0)
                printf("(no images cached in %s)\n", oci_cache_dir());
}

static int prune(const OciEntry *e, size_t n, const Uses *u) {
        int ret = 0;

        for (size_t i = 0; i < n; i++) {
                bool used = false;
                int r;

                for (size_t j = 0; j < u->n && !used; j++)
                        used = oci_entry_matches(&e[i], u->refs[j]);
                if (used)
                        continue;
                r = oci_cache_remove(e[i].digest);
                if (r < 0) {
                        log_error_errno(r, "Failed to remove %s: %m", e[i].digest);
                        ret = ctl_plain_failure(r);
                } else
                        printf("Removed %s (%s).\n", e[i].digest,
                               e[i].references && e[i].references[0] ? e[i].references[0] : "no reference recorded");
        }
        return ret;
}

int verb_images(Ctl *c, char **args) {
        _cleanup_(uses_done) Uses u = {};
        OciEntry *e = NULL;
        size_t n = 0;
        int r;

        if (c->prune && geteuid() != 0) {
                log_error("'agentctl images --prune' changes the image cache and needs root.");
                return -CTL_E_NOT_ROOT;
        }
        r = collect_uses(&u, NULL, NULL, NULL);
        if (r < 0)
                return ctl_plain_failure(r);
        r = oci_cache_list(&e, &n);
        if (r < 0) {
                log_error_errno(r, "Failed to read the image cache %s: %m", oci_cache_dir());
                return ctl_plain_failure(r);
        }
        if (c->prune) {
                int k;
                r = prune(e, n, &u);
                /* What a crash left, if it is older than any pull under way
                 * could be. */
                k = oci_cache_clean_stale(OCI_COMMAND_TIMEOUT_SEC + 60);
                if (k < 0) {
                        log_error_errno(k, "Failed to clean %s: %m", oci_cache_dir());
                        r = ctl_plain_failure(k);
                } else if (k > 0)
                        printf("Removed %d leftover%s of interrupted pulls.\n", k, k == 1 ? "" : "s");
        }
        else {
                if (c->json)
                        r = print_json(e, n, &u);
                else {
                        print_table(e, n, &u);
                        r = 0;
                }
        }
        oci_entries_free(e, n);
        return r;
}

int verb_pull(Ctl *c, char **args) {
        _cleanup_free_ char *ref = NULL, *file = NULL;
        _cleanup_strv_free_ char **allow = NULL;
        int r;

        if (!agent_name_is_valid(args[0])) {
                log_error("'%s' is not a valid agent name.", args[0]);
                return -CTL_E_USAGE;
        }
        r = collect_uses(NULL, args[0], &ref, &allow);
        if (r == -ENOENT) {
                log_error("No agent '%s' is defined (see 'agentctl verify').", args[0]);
                return -CTL_E_UNKNOWN;
        }
        if (r < 0) {
                log_error("The definition of '%s' does not load (see 'agentctl verify %s').", args[0], args[0]);
                return ctl_plain_failure(r);
        }
        if (!image_ref_has_transport(ref)) {
                log_error("Image=%s of '%s' is a local image, not a reference: there is nothing to pull.", ref,
                          args[0]);
                return -CTL_E_USAGE;
        }
        /* The tree is checked with the agent's own ImageAllow= exceptions; every
         * start checks the mounted image again with its own. */
        r = oci_provision(ref, allow, strv_length(allow), &file);
        if (r < 0)
                return ctl_plain_failure(r);
        printf("%s: %s is %s\n", args[0], ref, file);
        return 0;
}
