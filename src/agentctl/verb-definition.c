/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl cat and verify: the definitions, with the generator's own code;
 * neither needs systemd or root. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "capture.h"
#include "ctl.h"
#include "json.h"
#include "log.h"
#include "parse-value.h"
#include "render.h"

#define GENERATOR_DIR_DEFAULT "/run/systemd/generator"
/* What cat reads of one file; definitions are capped far lower, a generated
 * unit is a few KiB. */
#define CAT_FILE_MAX (1024U * 1024U)

typedef struct CatFile {
        const char *path;
        char *text; /* NULL: masked or unreadable */
        const char *note;
} CatFile;

static void cat_file_load(CatFile *f, const char *path) {
        struct stat st;
        int r;

        f->path = path;
        if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
                char target[16];
                ssize_t n = readlink(path, target, sizeof target - 1);
                if (n >= 0) {
                        target[n] = '\0';
                        if (streq(target, "/dev/null")) {
                                f->note = "masked";
                                return;
                        }
                }
        }
        r = ctl_read_file(path, CAT_FILE_MAX, &f->text, NULL);
        if (r < 0)
                f->note = strerror(-r);
        else if (f->text[0] == '\0')
                f->note = "empty";
}

static void cat_print(const CatFile *f) {
        printf("# %s", f->path);
        if (f->note)
                printf(" (%s)", f->note);
        printf("\n");
        if (f->text) {
                print_sanitized(stdout, f->text, true);
                if (f->text[0] && f->text[strlen(f->text) - 1] != '\n')
                        printf("\n");
        }
}

static int cat_json_file(const CatFile *f, struct json_object **ret) {
        int r;

        r = json_new_object(ret) ?:
            json_set_str(*ret, "path", f->path) ?:
            json_set_str(*ret, "text", f->text) ?:
            json_set_str(*ret, "note", f->note);
        if (r < 0)
                json_object_putp(ret);
        return r;
}

typedef struct Cat {
        const AgentSource *source;
        CatFile main_file, *dropins, unit_file;
        char *unit_path;
        const char *unit_source;
        char unit[96];
} Cat;

static void cat_done(Cat *c) {
        free(c->main_file.text);
        for (size_t i = 0; c->dropins && i < c->source->n_dropins; i++)
                free(c->dropins[i].text);
        free(c->dropins);
        free(c->unit_file.text);
        free(c->unit_path);
}

/* The unit: generated, or rendered from the definition when not (yet). */
static int cat_unit(Cat *c) {
        _cleanup_agent_free_ Agent *a = NULL;
        _cleanup_(buffer_done) Buffer rendered = {};
        const char *gen_dir = getenv("AGENTCAGE_GENERATOR_DIR") ?: GENERATOR_DIR_DEFAULT;
        int k;

        if (asprintf(&c->unit_path, "%s/%s", gen_dir, c->unit) < 0)
                return -ENOMEM;
        if (ctl_read_file(c->unit_path, CAT_FILE_MAX, &c->unit_file.text, NULL) >= 0) {
                c->unit_file.path = c->unit_path;
                c->unit_source = "generated";
                return 0;
        }
        c->unit_file.path = c->unit;
        k = definition_load_quiet(c->source, &a);
        if (k == -ENOMEM)
                return k;
        if (k == AGENT_MASKED)
                c->unit_file.note = "masked: no unit";
        else if (k < 0)
                c->unit_file.note = "the definition has errors, no unit (see 'agentctl verify')";
        else if (render_unit(a, &rendered) < 0)
                return -ENOMEM;
        else {
                c->unit_file.text = TAKE_PTR(rendered.data);
                c->unit_file.note = "rendered from the definition, not generated yet";
                c->unit_source = "rendered";
        }
        return 0;
}

static int cat_json(const Cat *c) {
        _cleanup_json_ struct json_object *o = NULL;
        struct json_object *f, *a;
        int r;

        r = json_new_object(&o) ?: json_set_str(o, "agent", c->source->name) ?:
            cat_json_file(&c->main_file, &f) ?: json_set(o, "definition", f) ?:
            json_new_array(&a) ?: json_set(o, "dropins", a);
        for (size_t i = 0; r >= 0 && i < c->source->n_dropins; i++)
                r = cat_json_file(&c->dropins[i], &f) ?: json_append(a, f);
        if (r >= 0)
                r = cat_json_file(&c->unit_file, &f) ?: json_set(o, "unit", f) ?:
                    json_set_str(o, "unit_source", c->unit_source);
        if (r < 0)
                return log_oom();
        return json_print(stdout, o);
}

int verb_cat(Ctl *ctl, char **args) {
        _cleanup_(cat_done) Cat c = {};
        AgentRef ref;
        int r;

        r = ctl_resolve(ctl, args[0], true, &ref);
        if (r < 0)
                return r;
        c.source = ref.source;
        (void) snprintf(c.unit, sizeof c.unit, "agent@%s.service", ref.name);
        cat_file_load(&c.main_file, c.source->main_path);
        c.dropins = calloc(c.source->n_dropins + 1, sizeof(CatFile));
        if (!c.dropins)
                return log_oom();
        for (size_t i = 0; i < c.source->n_dropins; i++)
                cat_file_load(&c.dropins[i], c.source->dropins[i]);
        if (cat_unit(&c) < 0)
                return log_oom();
        if (ctl->json)
                return cat_json(&c);
        cat_print(&c.main_file);
        for (size_t i = 0; i < c.source->n_dropins; i++) {
                printf("\n");
                cat_print(&c.dropins[i]);
        }
        printf("\n");
        cat_print(&c.unit_file);
        return 0;
}

/* ---- verify ------------------------------------------------------------- */

static int captured_json(const Capture *cap, bool errors, struct json_object **ret) {
        struct json_object *o;
        int r;

        r = json_new_array(ret);
        for (size_t i = 0; r >= 0 && i < cap->n_items; i++) {
                const Captured *it = &cap->items[i];
                if (it->error != errors)
                        continue;
                r = json_new_object(&o) ?: json_append(*ret, o) ?:
                    json_set_str(o, "file", it->file) ?:
                    json_set_u64(o, "line", it->line == 0 ? CTL_UNSET : it->line) ?:
                    json_set_str(o, "section", it->section) ?:
                    json_set_str(o, "key", it->key) ?:
                    json_set_str(o, "message", it->message);
        }
        if (r < 0)
                json_object_putp(ret);
        return r;
}

typedef struct Verify {
        bool json;
        struct json_object *list; /* with json */
        unsigned n_bad;
} Verify;

/* One entry of verify --json. */
static int verify_entry(Verify *vs, const char *file, const char *name, bool valid, bool masked, const Capture *cap) {
        struct json_object *o, *e, *w;

        return json_new_object(&o) ?: json_append(vs->list, o) ?:
               json_set_str(o, "file", file) ?:
               json_set_str(o, "agent", name) ?:
               json_set_bool(o, "valid", valid) ?:
               json_set_bool(o, "masked", masked) ?:
               captured_json(cap, true, &e) ?: json_set(o, "errors", e) ?:
               captured_json(cap, false, &w) ?: json_set(o, "warnings", w);
}

/* Verifies one agent: its main file and drop-ins. name may be NULL for a
 * file that is not NAME.agent (reported as such). */
static int verify_one(Verify *vs, const char *file, const char *name, char *const *dropins, size_t n_dropins) {
        _cleanup_agent_free_ Agent *a = NULL;
        _cleanup_(capture_done) Capture cap = { .quiet = vs->json };
        Report report = {};
        bool valid;
        int r = 0;

        capture_attach(&report, &cap);
        if (!name)
                report_error(&report, file, 0, NULL, NULL, "not a definition: the file name must be NAME.agent");
        else if (!agent_name_is_valid(name))
                report_error(&report, file, 0, NULL, NULL,
                             "invalid agent name '%s'; expected [a-z0-9] then up to 62 of [a-z0-9-], not ending in '-'",
                             name);
        else
                r = agent_load(name, file, dropins, n_dropins, &report, &a);
        if (r == -ENOMEM || cap.oom)
                return log_oom();
        valid = report.n_errors == 0 && r >= 0;
        if (!valid)
                vs->n_bad++;

        if (vs->json)
                return verify_entry(vs, file, name, valid, r == AGENT_MASKED, &cap) < 0 ? log_oom() : 0;
        if (r == AGENT_MASKED)
                printf("%s: masked\n", file);
        else if (valid)
                printf("%s: OK\n", file);
        else
                printf("%s: %u error%s\n", file, report.n_errors, report.n_errors == 1 ? "" : "s");
        return 0;
}

/* Files the discovery itself refused (bad names) are entries of their own. */
static int verify_refused(Verify *vs, const Capture *cap) {
        for (size_t i = 0; i < cap->n_items; i++) {
                const Captured *it = &cap->items[i];
                Capture one = { .items = (Captured *) it, .n_items = 1 };

                if (!it->error)
                        continue;
                vs->n_bad++;
                if (!vs->json)
                        printf("%s: 1 error\n", it->file);
                else if (verify_entry(vs, it->file, NULL, false, false, &one) < 0)
                        return log_oom();
        }
        /* With --json, discovery warnings (unreadable folders) still reach stderr. */
        for (size_t i = 0; vs->json && i < cap->n_items; i++)
                if (!cap->items[i].error)
                        log_warning("%s: %s", cap->items[i].file, cap->items[i].message);
        return 0;
}

static int verify_search_path(Verify *vs, char *const *search_path) {
        _cleanup_(capture_done) Capture cap = { .quiet = vs->json };
        Report report = {};
        AgentSource *sources = NULL;
        size_t n = 0;
        int r;

        capture_attach(&report, &cap);
        r = definitions_discover(search_path, &report, &sources, &n);
        if (r < 0 || cap.oom)
                return log_error_errno(r < 0 ? ctl_plain_failure(r) : -ENOMEM,
                                       "Failed to discover agent definitions: %m");
        r = verify_refused(vs, &cap);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = verify_one(vs, sources[i].main_path, sources[i].name, sources[i].dropins, sources[i].n_dropins);
        agent_sources_free(sources, n);
        return r;
}

static int verify_files(Verify *vs, char **files) {
        int r = 0;

        for (size_t i = 0; files[i] && r >= 0; i++) {
                const char *base = strrchr(files[i], '/');
                _cleanup_free_ char *name = NULL;
                size_t len;

                base = base ? base + 1 : files[i];
                len = strlen(base);
                if (len > strlen(".agent") && streq(base + len - strlen(".agent"), ".agent")) {
                        name = strndup(base, len - strlen(".agent"));
                        if (!name)
                                return log_oom();
                }
                r = verify_one(vs, files[i], name, NULL, 0);
        }
        return r;
}

int verb_verify(Ctl *c, char **args) {
        Verify vs = { .json = c->json };
        int r;

        if (vs.json && json_new_array(&vs.list) < 0)
                return log_oom();
        r = args[0] ? verify_files(&vs, args) : verify_search_path(&vs, c->search_path);
        if (r >= 0 && vs.json)
                r = json_print(stdout, vs.list);
        json_object_putp(&vs.list);
        if (r < 0)
                return r;
        return vs.n_bad > 0 ? -EBADMSG : 0;
}
