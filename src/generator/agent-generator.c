/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-generator: turns agent definitions into agent@NAME.service units.
 *
 * systemd runs it at boot and on every daemon-reload as
 *         agent-generator NORMAL_DIR [EARLY_DIR LATE_DIR]
 * It writes only into NORMAL_DIR, does no IPC and no NSS look-ups, and does
 * not need /var. A definition with any error gets no unit; the others are
 * still generated; the exit status is 1 when any definition was rejected. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "buffer.h"
#include "config.h"
#include "definition.h"
#include "emit.h"
#include "log.h"
#include "parse-value.h"
#include "render.h"
#include "render-egress.h"
#include "schema.h"

static bool arg_dry_run = false;

static void help(void) {
        printf("agent-generator NORMAL_DIR [EARLY_DIR LATE_DIR]\n"
               "agent-generator --dry-run [NAME…]\n"
               "agent-generator --list-keys\n\n"
               "Generates agent@NAME.service units from agent definitions in\n"
               "/etc/agents, /run/agents, /usr/local/lib/agents and /usr/lib/agents\n"
               "($AGENTCAGE_PATH replaces that search path).\n\n"
               "  --dry-run     print the units instead of writing them\n"
               "  --list-keys   print every definition key with its limits and default\n"
               "  --version     print the version\n");
}

static bool name_selected(const char *name, char **names, bool *used) {
        if (!names || !*names)
                return true;
        for (size_t i = 0; names[i]; i++)
                if (streq(names[i], name)) {
                        used[i] = true;
                        return true;
                }
        return false;
}

static int generate_one(const AgentSource *s, int out_fd, Buffer *buf, Report *report) {
        _cleanup_agent_free_ Agent *a = NULL;
        char unit[96];
        int r;

        r = agent_load_source(s, report, &a);
        if (r == AGENT_MASKED) {
                log_info("%s: masked, no unit for agent %s.", s->main_path, s->name);
                return 0;
        }
        if (r < 0) {
                /* Whatever went wrong, it went wrong for this agent only. */
                if (r != -EINVAL)
                        report_error(report, s->main_path, 0, NULL, NULL, "cannot load: %s", strerror(-r));
                log_error("%s: agent %s rejected, no unit generated.", s->main_path, s->name);
                return 0;
        }

        if (STRJOIN_BUF(unit, sizeof unit, "agent@", a->name, ".service") < 0)
                return -ENAMETOOLONG; /* cannot happen: names are at most AGENT_NAME_MAX */
        buffer_reset(buf);
        r = render_unit(a, buf);
        if (r < 0) {
                report_error(report, s->main_path, 0, NULL, NULL, "cannot render %s: %s; skipping this agent", unit,
                             r == -EINVAL ? "a value cannot be written into a unit" : strerror(-r));
                log_error("%s: agent %s rejected, no unit generated.", s->main_path, s->name);
                return 0;
        }

        if (arg_dry_run) {
                printf("# %s\n%s", unit, buf->data);
                if (a->autostart)
                        printf("# agents.target.wants/%s -> ../%s\n", unit, unit);
                printf("\n");
                return 0;
        }

        r = emit_file_at(out_fd, unit, buf->data, buf->len);
        if (r == -EEXIST)
                return log_error_errno(r, "%s exists already in the output directory (duplicate agent?), not replacing it.", unit);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", unit);
        r = emit_egress_policy_at(out_fd, a);
        if (r < 0)
                return log_error_errno(r, "Failed to write the egress policy of %s: %m", unit);
        if (a->autostart) {
                r = emit_wants_symlink_at(out_fd, "agents.target.wants", unit);
                if (r < 0)
                        return log_error_errno(r, "Failed to add %s to agents.target: %m", unit);
        }
        return 0;
}

typedef struct Run {
        int out_fd;
        char **names;  /* --dry-run NAME…: only these */
        bool *used;
        Buffer buf;
        Report report;
        int write_error;
} Run;

static int generate_cb(const AgentSource *s, void *userdata) {
        Run *run = userdata;
        int r;

        if (!name_selected(s->name, run->names, run->used))
                return 0;
        r = generate_one(s, run->out_fd, &run->buf, &run->report);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && run->write_error == 0)
                run->write_error = r; /* a write failure: keep going for the other agents */
        return 0;
}

static int run(const char *out_dir, char **names) {
        _cleanup_strv_free_ char **search_path = NULL;
        _cleanup_close_ int out_fd = -EBADF;
        _cleanup_free_ bool *used = NULL;
        Run run = {};
        int r;

        r = definitions_search_path(&search_path);
        if (r < 0)
                return r;

        if (!arg_dry_run) {
                out_fd = open(out_dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
                if (out_fd < 0)
                        return log_error_errno(negative_errno(), "Failed to open output directory %s: %m", out_dir);
        }

        used = calloc(strv_length(names) + 1, sizeof(bool));
        if (!used)
                return log_oom();

        run = (Run) { .out_fd = out_fd, .names = names, .used = used };
        r = definitions_foreach(search_path, &run.report, generate_cb, &run);
        buffer_done(&run.buf);
        if (r < 0)
                return log_error_errno(r, "Failed to generate agent units: %m");

        for (size_t i = 0; names && names[i]; i++)
                if (!used[i]) {
                        log_error("No definition for agent '%s' on the search path.", names[i]);
                        run.report.n_errors++;
                }

        if (run.write_error < 0)
                return run.write_error;
        return run.report.n_errors > 0 ? 1 : 0;
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "dry-run", no_argument, NULL, 'n' },
                { "list-keys", no_argument, NULL, 'k' },
                { "version", no_argument, NULL, 'V' },
                { "list-keys-roff", no_argument, NULL, 'R' }, /* for the man page build */
                {}
        };
        int c, r;

        log_set_prefix("agent-generator");
        /* Units must be world-readable like every other unit file. */
        umask(0022);
        /* systemd sets SYSTEMD_SCOPE for generators; then stderr may go
         * nowhere useful this early, but the kernel log is always there. */
        if (getenv("SYSTEMD_SCOPE"))
                (void) log_open_kmsg();

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'n':
                        arg_dry_run = true;
                        break;
                case 'k':
                        schema_dump(stdout, false);
                        return 0;
                case 'R':
                        schema_dump(stdout, true);
                        return 0;
                case 'V':
                        printf("agent-generator %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return 2;
                }

        if (arg_dry_run) {
                r = run(NULL, argv + optind);
        } else {
                if (argc - optind != 1 && argc - optind != 3) {
                        log_error("Expected one or three output directories (see --help).");
                        return 2;
                }
                r = run(argv[optind], NULL);
        }
        return r < 0 ? 1 : r;
}
