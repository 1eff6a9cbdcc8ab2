/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl list and status: what systemd, machined, the state directory and
 * the journal say about agents, as a table, a page or JSON. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bus.h"
#include "capture.h"
#include "ctl.h"
#include "journal.h"
#include "json.h"
#include "log.h"
#include "parse-value.h"
#include "state.h"

#define JOURNAL_LINES 10

typedef struct Row {
        AgentRef ref;
        const char *definition; /* "valid", "invalid", "masked", "missing" */
        uint64_t orphan_timeout;
        TimeoutSource orphan_from;
        UnitInfo unit;
        Assignment assignment;
        int assignment_r;
        AgentStateInfo info; /* agent.state */
        int info_r;
        EgressCounters egress; /* the egress proxy's counters */
        int egress_r;
        uint64_t uptime, ttl;
} Row;

static void row_done(Row *row) {
        unit_info_done(&row->unit);
        assignment_done(&row->assignment);
        agent_state_info_done(&row->info);
}

/* The orphan timeout shown: agent.state's for a running agent, the
 * definition's otherwise. */
static void row_orphan_timeout(Row *row, const Agent *a) {
        row->orphan_timeout = CTL_UNSET;
        row->orphan_from = TIMEOUT_UNKNOWN;
        if (row->info_r >= 0) {
                row->orphan_timeout = row->info.orphan_timeout_usec;
                row->orphan_from = TIMEOUT_FROM_STATE;
        } else if (a) {
                row->orphan_timeout = a->orphan_timeout_usec;
                row->orphan_from = TIMEOUT_FROM_DEFINITION;
        }
}

static int row_get(Ctl *c, const AgentRef *ref, Row *ret) {
        _cleanup_agent_free_ Agent *a = NULL;
        Row row = { .ref = *ref, .definition = "missing", .assignment_r = -ENOENT, .info_r = -ENOENT,
                    .egress_r = -ENOENT };
        int r, k = -ENOENT;

        if (ref->source) {
                k = definition_load_quiet(ref->source, &a);
                if (k == -ENOMEM)
                        return log_oom();
                row.definition = k == AGENT_MASKED ? "masked" : k < 0 ? "invalid" : "valid";
        }
        r = unit_info_get(c->bus, ref->name, &row.unit);
        if (r < 0)
                return r;
        unit_times(&row.unit, &row.uptime, &row.ttl);
        if (unit_present(&row.unit)) {
                row.assignment_r = state_assignment_read(ref->name, &row.assignment);
                row.info_r = state_info_read(ref->name, &row.info);
                row.egress_r = state_egress_read(ref->name, &row.egress);
        }
        row_orphan_timeout(&row, k == 0 ? a : NULL);
        *ret = row;
        return 0;
}

static int row_to_json(const Row *row, struct json_object *o) {
        /* An unreadable assignment (not root) is null here, and unknown in the table. */
        return json_set_str(o, "name", row->ref.name) ?:
               json_set_str(o, "definition", row->definition) ?:
               json_set_str(o, "load_state", row->unit.load_state) ?:
               json_set_str(o, "active_state", row->unit.active_state) ?:
               json_set_str(o, "sub_state", row->unit.sub_state) ?:
               json_set_u64(o, "uptime_usec", row->uptime) ?:
               json_set_u64(o, "ttl_left_usec", row->ttl) ?:
               json_set_u64(o, "runtime_max_usec", row->unit.runtime_max_usec) ?:
               json_set_u64(o, "memory_current_bytes", row->unit.memory_current) ?:
               json_set_u64(o, "restarts", row->unit.n_restarts) ?:
               json_set_str(o, "task", row->assignment_r < 0 ? NULL : row->assignment.task);
}

static int list_json(const Row *rows, size_t n) {
        _cleanup_json_ struct json_object *a = NULL;
        struct json_object *o;
        int r;

        r = json_new_array(&a);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = json_new_object(&o);
                if (r >= 0)
                        r = json_append(a, o);
                if (r >= 0)
                        r = row_to_json(&rows[i], o);
        }
        if (r < 0)
                return log_oom();
        return json_print(stdout, a);
}

static const char *row_task(const Row *row) {
        if (row->assignment_r == -ENOENT)
                return NULL;
        if (row->assignment_r < 0)
                return "?";
        return row->assignment.task;
}

static void list_table(const Row *rows, size_t n) {
        printf("%-24s %-20s %-10s %-10s %-9s %-8s %s\n", "NAME", "STATE", "UPTIME", "TTL", "MEMORY", "RESTARTS",
               "TASK");
        for (size_t i = 0; i < n; i++) {
                const Row *row = &rows[i];
                char state[64], up[FORMAT_TIMESPAN_MAX] = "-", ttl[FORMAT_TIMESPAN_MAX] = "-",
                                mem[FORMAT_BYTES_MAX] = "-";
                bool defined = streq(row->definition, "valid");

                if (!defined && !unit_present(&row->unit))
                        (void) snprintf(state, sizeof state, "%s", row->definition);
                else if (streq_ptr(row->unit.load_state, "not-found"))
                        (void) snprintf(state, sizeof state, "no-unit");
                else
                        /* A running agent whose definition broke or went away says so. */
                        (void) snprintf(state, sizeof state, "%s/%s%s%s", strempty(row->unit.active_state),
                                        strempty(row->unit.sub_state), defined ? "" : ",",
                                        defined ? "" : row->definition);
                if (row->uptime != CTL_UNSET)
                        format_timespan(up, sizeof up, row->uptime);
                if (row->ttl != CTL_UNSET)
                        format_timespan(ttl, sizeof ttl, row->ttl);
                if (row->unit.memory_current != CTL_UNSET)
                        format_bytes(mem, sizeof mem, row->unit.memory_current);
                printf("%-24s %-20s %-10s %-10s %-9s %-8" PRIu32 " ", row->ref.name, state, up, ttl, mem,
                       row->unit.n_restarts);
                print_sanitized(stdout, row_task(row) ?: "-", false);
                printf("\n");
        }
}

int verb_list(Ctl *c, char **args) {
        _cleanup_free_ AgentRef *refs = NULL;
        Row *rows;
        size_t n_refs, n = 0;
        int r;

        if (c->names) {
                for (size_t i = 0; i < c->n_sources; i++)
                        printf("%s\n", c->sources[i].name);
                return 0;
        }
        r = ctl_agents(c, &refs, &n_refs);
        if (r < 0)
                return r;
        rows = calloc(n_refs + 1, sizeof(Row));
        if (!rows)
                return log_oom();
        for (r = 0; r >= 0 && n < n_refs; n++)
                r = row_get(c, &refs[n], &rows[n]);
        if (r >= 0) {
                if (c->json)
                        r = list_json(rows, n);
                else
                        list_table(rows, n);
        }
        for (size_t i = 0; i < n; i++)
                row_done(&rows[i]);
        free(rows);
        return r;
}

/* ---- status ------------------------------------------------------------- */

typedef struct Workspace {
        bool found;
        uint64_t size, used, available;
} Workspace;

typedef struct Status {
        Row row;
        Machine machine;
        Workspace workspace;
        uint64_t peak;
        JournalLine *lines;
        size_t n_lines;
        int journal_r;
} Status;

static void status_done(Status *s) {
        journal_lines_free(s->lines, s->n_lines);
        machine_done(&s->machine);
        row_done(&s->row);
}

/* memory.peak exists from Linux 5.19 on; CTL_UNSET where it does not. */
static uint64_t memory_peak(const char *cgroup) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        uint64_t v;

        if (!cgroup || cgroup[0] != '/' || asprintf(&path, "/sys/fs/cgroup%s/memory.peak", cgroup) < 0)
                return CTL_UNSET;
        if (ctl_read_file(path, 64, &text, NULL) < 0)
                return CTL_UNSET;
        text[strcspn(text, "\n")] = '\0';
        if (parse_uint64_range(text, 0, UINT64_MAX - 1, &v) < 0)
                return CTL_UNSET;
        return v;
}

/* The workspace is mounted inside the unit's own mount namespace (see
 * docs/DESIGN.md), invisible from the host's: it is looked at through the
 * root of the unit's main process (systemd-nspawn, still in that namespace),
 * where the state root is the real one. Only a mount point counts; the bare
 * directory on /run would report /run. */
static Workspace workspace_get(const char *name, uint32_t main_pid) {
        _cleanup_free_ char *path = NULL, *parent = NULL;
        struct statvfs sv;
        struct stat st, pst;
        Workspace w = {};

        if (main_pid == 0)
                return w;
        if (asprintf(&parent, "/proc/%" PRIu32 "/root%s/%s", main_pid, AGENT_STATE_ROOT, name) < 0 ||
            asprintf(&path, "%s/%s", parent, AGENT_STATE_WORKSPACE_DIR) < 0)
                return w;
        if (stat(path, &st) < 0 || stat(parent, &pst) < 0 || st.st_dev == pst.st_dev)
                return w;
        if (statvfs(path, &sv) < 0)
                return w;
        w.found = true;
        w.size = (uint64_t) sv.f_blocks * sv.f_frsize;
        w.used = (uint64_t) (sv.f_blocks - sv.f_bfree) * sv.f_frsize;
        w.available = (uint64_t) sv.f_bavail * sv.f_frsize;
        return w;
}

static int status_get(Ctl *c, const AgentRef *ref, Status *s) {
        bool running;
        int r;

        r = row_get(c, ref, &s->row);
        if (r < 0)
                return r;
        r = machine_get(c->bus, ref->name, &s->machine);
        if (r < 0)
                return r;
        running = unit_running(&s->row.unit);
        s->peak = running ? memory_peak(s->row.unit.control_group) : CTL_UNSET;
        s->workspace = workspace_get(ref->name, running ? s->row.unit.main_pid : 0);
        s->journal_r = journal_tail(ref->name, s->row.unit.inactive_exit_usec, JOURNAL_LINES, &s->lines,
                                    &s->n_lines);
        return 0;
}

/* Creates o[key] as an object and hands it out in *ret (NULL for null). */
static int json_set_object(struct json_object *o, const char *key, bool present, struct json_object **ret) {
        int r;

        *ret = NULL;
        if (!present)
                return json_set(o, key, NULL);
        r = json_new_object(ret);
        return r < 0 ? r : json_set(o, key, *ret);
}

static int assignment_json(const Row *row, struct json_object *o) {
        const Assignment *a = &row->assignment;
        struct json_object *j;

        return json_set_object(o, "assignment", row->assignment_r >= 0, &j) ?:
               !j ? 0 :
               json_set_str(j, "task", a->task) ?:
               json_set_u64(j, "assigned_usec", a->task ? a->assigned : CTL_UNSET) ?:
               json_set_u64(j, "lease_until_usec", a->task && a->lease_until > 0 ? a->lease_until : CTL_UNSET) ?:
               json_set_u64(j, "released_usec", a->released > 0 ? a->released : CTL_UNSET);
}

/* What agent.state says; null fields without one. */
static int state_json(const Row *row, struct json_object *o) {
        const AgentStateInfo *i = row->info_r >= 0 ? &row->info : NULL;
        static const char *const from[] = {
                [TIMEOUT_FROM_STATE] = AGENT_STATE_INFO,
                [TIMEOUT_FROM_DEFINITION] = "definition",
                [TIMEOUT_UNKNOWN] = NULL,
        };
        int r;

        r = json_set_u64(o, "orphan_timeout_usec", row->orphan_timeout) ?:
            json_set_str(o, "orphan_timeout_source", from[row->orphan_from]) ?:
            json_set_u64(o, "started_usec", i ? i->started_usec : CTL_UNSET) ?:
            json_set_str(o, "apparmor", i ? apparmor_mode_to_string(i->apparmor) : NULL) ?:
            json_set_str(o, "image", i ? i->image : NULL) ?:
            json_set_str(o, "image_digest", i ? i->image_digest : NULL);
        if (r < 0)
                return r;
        if (row->egress_r >= 0) {
                struct json_object *e = NULL;
                r = json_new_object(&e) ?: json_set(o, "egress", e) ?:
                    json_set_u64(e, "allowed", row->egress.allowed) ?: json_set_u64(e, "denied", row->egress.denied) ?:
                    json_set_u64(e, "bytes_up", row->egress.bytes_up) ?:
                    json_set_u64(e, "bytes_down", row->egress.bytes_down);
        } else
                r = json_set(o, "egress", NULL);
        if (r < 0)
                return r;
        if (!i)
                return json_set(o, "image_exceptions", NULL);
        return json_set_strv(o, "image_exceptions", i->image_exceptions, strv_length(i->image_exceptions));
}

static int workspace_json(const Status *s, struct json_object *o) {
        _cleanup_free_ char *path = NULL;
        struct json_object *j;

        if (s->workspace.found &&
            asprintf(&path, "%s/%s/%s", AGENT_STATE_ROOT, s->row.ref.name, AGENT_STATE_WORKSPACE_DIR) < 0)
                return -ENOMEM;
        return json_set_object(o, "workspace", s->workspace.found, &j) ?:
               !j ? 0 :
               json_set_str(j, "path", path) ?:
               json_set_u64(j, "size_bytes", s->workspace.size) ?:
               json_set_u64(j, "used_bytes", s->workspace.used) ?:
               json_set_u64(j, "available_bytes", s->workspace.available);
}

static int machine_json(const Status *s, struct json_object *o) {
        struct json_object *j;

        return json_set_object(o, "machine", s->machine.found, &j) ?:
               !j ? 0 :
               json_set_str(j, "name", s->row.ref.name) ?:
               json_set_u64(j, "leader", s->machine.leader) ?:
               json_set_str(j, "class", s->machine.class) ?:
               json_set_str(j, "state", s->machine.state) ?:
               json_set_str(j, "service", s->machine.service);
}

/* {path, dropins, state}: status's "definition" replaces list's string (the
 * state moves inside); path is null for an agent without a definition. */
static int definition_json(const Row *row, struct json_object *o) {
        const AgentSource *src = row->ref.source;
        struct json_object *j;

        return json_set_object(o, "definition", true, &j) ?:
               json_set_str(j, "path", src ? src->main_path : NULL) ?:
               json_set_strv(j, "dropins", src ? src->dropins : NULL, src ? src->n_dropins : 0) ?:
               json_set_str(j, "state", row->definition);
}

static int journal_json(const Status *s, struct json_object *o) {
        struct json_object *a, *l;
        int r;

        if (s->journal_r < 0)
                return json_set(o, "journal", NULL);
        r = json_new_array(&a);
        if (r < 0)
                return r;
        r = json_set(o, "journal", a);
        for (size_t i = 0; r >= 0 && i < s->n_lines; i++) {
                r = json_new_object(&l);
                if (r >= 0)
                        r = json_append(a, l);
                if (r >= 0)
                        r = json_set_u64(l, "realtime_usec", s->lines[i].realtime) ?:
                            json_set_str(l, "message", s->lines[i].message);
        }
        return r;
}

static int status_json(const Status *s) {
        _cleanup_json_ struct json_object *o = NULL;
        const UnitInfo *u = &s->row.unit;
        char unit[AGENT_UNIT_MAX];
        int r;

        r = json_new_object(&o) ?:
            row_to_json(&s->row, o) ?:
            json_set_str(o, "unit", agent_unit_name(unit, sizeof unit, s->row.ref.name)) ?:
            json_set_str(o, "description", u->description) ?:
            json_set_str(o, "result", u->result) ?:
            json_set_u64(o, "active_enter_timestamp_usec", u->active_enter_usec ?: CTL_UNSET) ?:
            json_set_u64(o, "memory_peak_bytes", s->peak) ?:
            json_set_u64(o, "cpu_usage_nsec", u->cpu_usage_nsec) ?:
            json_set_u64(o, "tasks_current", u->tasks_current) ?:
            json_set_u64(o, "main_pid", u->main_pid ?: CTL_UNSET) ?:
            json_set_str(o, "control_group", u->control_group && u->control_group[0] ? u->control_group : NULL) ?:
            state_json(&s->row, o) ?:
            assignment_json(&s->row, o) ?:
            workspace_json(s, o) ?:
            machine_json(s, o) ?:
            definition_json(&s->row, o) ?:
            journal_json(s, o);
        if (r < 0)
                return log_oom();
        return json_print(stdout, o);
}

static void print_definition(const Row *row) {
        const AgentSource *src = row->ref.source;

        if (!src) {
                printf("  Definition: none (deleted while the agent runs)\n");
                return;
        }
        printf("  Definition: %s (%s)\n", src->main_path, row->definition);
        for (size_t i = 0; i < src->n_dropins; i++)
                printf("              %s\n", src->dropins[i]);
}

/* agent.state: how the agent was started. */
static void print_state(const Row *row) {
        const AgentStateInfo *i = &row->info;

        if (row->info_r == -ENOENT) {
                if (unit_present(&row->unit))
                        printf("       Start: no %s (started by an older version)\n", AGENT_STATE_INFO);
                return;
        }
        if (row->info_r < 0) {
                printf("       Start: unknown (%s: %s)\n", AGENT_STATE_INFO,
                       row->info_r == -EACCES ? "needs root" : strerror(-row->info_r));
                return;
        }
        printf("       Image: ");
        print_sanitized(stdout, i->image, false);
        if (i->image_digest) {
                printf(" (");
                print_sanitized(stdout, i->image_digest, false);
                printf(")");
        }
        printf("\n");
        for (char **p = i->image_exceptions; p && *p; p++) {
                printf(p == i->image_exceptions ? "  Exceptions: " : "              ");
                print_sanitized(stdout, *p, false);
                printf(" (ImageAllow=)\n");
        }
        if (row->egress_r >= 0) {
                char up[FORMAT_BYTES_MAX], down[FORMAT_BYTES_MAX];
                printf("      Egress: %" PRIu64 " allowed, %" PRIu64 " denied, %s up, %s down\n", row->egress.allowed,
                       row->egress.denied, format_bytes(up, sizeof up, row->egress.bytes_up),
                       format_bytes(down, sizeof down, row->egress.bytes_down));
        }
        if (i->apparmor == APPARMOR_OPTIONAL)
                printf("    AppArmor: OPTIONAL - this agent may run WITHOUT AppArmor confinement "
                       "(the site allowed it)\n");
        else
                printf("    AppArmor: %s\n", strempty(apparmor_mode_to_string(i->apparmor)));
}

static void print_task(const Row *row) {
        char d[FORMAT_TIME_MAX];

        if (row->assignment_r == -ENOENT || (row->assignment_r >= 0 && !row->assignment.task)) {
                printf("        Task: -\n");
                return;
        }
        if (row->assignment_r < 0) {
                printf("        Task: unknown (%s)\n", strerror(-row->assignment_r));
                return;
        }
        printf("        Task: ");
        print_sanitized(stdout, row->assignment.task, false);
        printf(" (assigned %s", format_time(d, sizeof d, row->assignment.assigned));
        if (row->assignment.lease_until > 0)
                printf(", lease until %s", format_time(d, sizeof d, row->assignment.lease_until));
        printf(")\n");
}

static void print_resources(const Status *s) {
        const UnitInfo *u = &s->row.unit;
        char t[FORMAT_TIMESPAN_MAX], b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX], b3[FORMAT_BYTES_MAX];

        if (s->row.orphan_timeout != CTL_UNSET)
                printf("      Orphan: %s\n", s->row.orphan_timeout == 0 ? "never reaped (OrphanTimeoutSec=0)" :
                       format_timespan(t, sizeof t, s->row.orphan_timeout));
        if (u->memory_current != CTL_UNSET)
                printf("      Memory: %s (peak %s)\n", format_bytes(b1, sizeof b1, u->memory_current),
                       s->peak != CTL_UNSET ? format_bytes(b2, sizeof b2, s->peak) : "unavailable");
        if (u->cpu_usage_nsec != CTL_UNSET)
                printf("         CPU: %s\n", format_timespan(t, sizeof t, u->cpu_usage_nsec / 1000));
        if (u->tasks_current != CTL_UNSET)
                printf("       Tasks: %" PRIu64 "\n", u->tasks_current);
        printf("    Restarts: %" PRIu32 "\n", u->n_restarts);
        if (s->workspace.found)
                printf("   Workspace: %s used of %s, %s available\n", format_bytes(b1, sizeof b1, s->workspace.used),
                       format_bytes(b2, sizeof b2, s->workspace.size),
                       format_bytes(b3, sizeof b3, s->workspace.available));
        else if (unit_running(u))
                printf("   Workspace: unavailable (%s)\n", geteuid() != 0 ? "needs root" : "not mounted");
}

static void status_print(const Status *s) {
        const Row *row = &s->row;
        const UnitInfo *u = &row->unit;
        char t1[FORMAT_TIMESPAN_MAX], t2[FORMAT_TIMESPAN_MAX], d[FORMAT_TIME_MAX], unit[AGENT_UNIT_MAX];

        printf("%s - ", agent_unit_name(unit, sizeof unit, row->ref.name));
        print_sanitized(stdout, u->description, false);
        printf("\n");
        print_definition(row);
        printf("       State: %s (%s)", strempty(u->active_state), strempty(u->sub_state));
        if (row->uptime != CTL_UNSET)
                printf(" since %s; %s ago", format_time(d, sizeof d, u->active_enter_usec),
                       format_timespan(t1, sizeof t1, row->uptime));
        else if (u->result && !streq(u->result, "success"))
                printf("; last result: %s", u->result);
        printf("\n");
        if (row->ttl != CTL_UNSET)
                printf("         TTL: %s left (RuntimeMaxSec=%s)\n", format_timespan(t1, sizeof t1, row->ttl),
                       format_timespan(t2, sizeof t2, u->runtime_max_usec));
        print_state(row);
        print_task(row);
        print_resources(s);
        if (s->machine.found)
                printf("     Machine: %s (class %s, state %s, leader %" PRIu32 ")\n", row->ref.name,
                       strempty(s->machine.class), strempty(s->machine.state), s->machine.leader);
        else
                printf("     Machine: not registered\n");
        if (s->journal_r < 0) {
                printf("\nJournal unavailable: %s\n", strerror(-s->journal_r));
                return;
        }
        printf("\n");
        for (size_t i = 0; i < s->n_lines; i++) {
                printf("%s ", format_time(d, sizeof d, s->lines[i].realtime));
                print_sanitized(stdout, s->lines[i].message, false);
                printf("\n");
        }
}

int verb_status(Ctl *c, char **args) {
        _cleanup_(status_done) Status s = {};
        AgentRef ref;
        int r;

        r = ctl_resolve(c, args[0], false, &ref);
        if (r < 0)
                return r;
        r = ctl_connect(c);
        if (r < 0)
                return r;
        r = status_get(c, &ref, &s);
        if (r < 0)
                return r;
        if (c->json)
                return status_json(&s);
        status_print(&s);
        return 0;
}
