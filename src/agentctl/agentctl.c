/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl: the operator's view of the agents and their controls.
 *
 * Everything about a running agent comes from systemd and machined over the
 * system bus (sd-bus), never from running systemctl or ps; everything about a
 * definition comes from libagentcage, the same code the generator runs. The
 * state of a running agent lives in /run/agentcage/NAME/ (docs/DESIGN.md);
 * agentctl adds one file there, the task assignment, which goes away with the
 * rest of the directory when the agent is recycled.
 *
 * Exit status: 0 success, 1 failure, 2 usage error, 3 unknown agent, 4 not
 * root where root is needed, 5 systemd or machined unreachable. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-journal.h>

#include "agent.h"
#include "buffer.h"
#include "capture.h"
#include "config.h"
#include "ctl-util.h"
#include "definition.h"
#include "export.h"
#include "log.h"
#include "parse-value.h"
#include "render.h"

enum {
        EXIT_OK = 0,
        EXIT_FAIL = 1,
        EXIT_USAGE = 2,
        EXIT_UNKNOWN = 3,
        EXIT_NOT_ROOT = 4,
        EXIT_UNREACHABLE = 5,
};

#define GENERATOR_DIR_DEFAULT "/run/systemd/generator"
#define ASSIGNMENT_FILE "assignment"
#define JOURNAL_LINES 10
/* What cat reads of one file; definitions are capped far lower (ini.h), a
 * generated unit is a few KiB. */
#define CAT_FILE_MAX (1024U * 1024U)

static bool arg_json = false;
static bool arg_names = false;
static uint64_t arg_lease_usec = 0;
static bool arg_lease_set = false;

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static char *format_time(char *buf, size_t size, uint64_t usec) {
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || usec == CTL_UNSET || !localtime_r(&t, &tm) ||
            strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                (void) snprintf(buf, size, "n/a");
        return buf;
}

/* Agents and their journals are untrusted: what reaches the operator's
 * terminal must not carry escape sequences. */
static void print_sanitized(FILE *f, const char *s, size_t n, bool newlines) {
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                fputc(c == '\t' || (c == '\n' && newlines) || (c >= 0x20 && c != 0x7f) ? c : '?', f);
        }
}

static void unitname(char *buf, size_t size, const char *name) {
        (void) snprintf(buf, size, "agent@%s.service", name);
}

static int read_file_limited(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return -EBADFD;
        data = malloc(max + 1);
        if (!data)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, data + len, max + 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len > max)
                        return -EFBIG;
        }
        data[len] = '\0';
        *ret = TAKE_PTR(data);
        if (ret_len)
                *ret_len = len;
        return 0;
}

static int state_dir(const char *name, char **ret) {
        if (asprintf(ret, "%s/%s", AGENT_STATE_ROOT, name) < 0)
                return -ENOMEM;
        return 0;
}

/* ---- definitions -------------------------------------------------------- */

typedef struct Ctl {
        char **search_path;
        AgentSource *sources;
        size_t n_sources;
        sd_bus *bus;
} Ctl;

static void ctl_done(Ctl *c) {
        strv_free(c->search_path);
        agent_sources_free(c->sources, c->n_sources);
        sd_bus_flush_close_unref(c->bus);
        *c = (Ctl) {};
}

/* Discovers the definitions. Problems with unrelated definitions are not this
 * command's business: they are collected quietly (`agentctl verify` shows them). */
static int ctl_discover(Ctl *c) {
        Capture cap = { .quiet = true };
        Report report = {};
        int r;

        r = definitions_search_path(&c->search_path);
        if (r < 0)
                return r; /* logged */
        capture_attach(&report, &cap);
        r = definitions_discover(c->search_path, &report, &c->sources, &c->n_sources);
        capture_done(&cap);
        if (r < 0)
                return log_error_errno(r, "Failed to discover agent definitions: %m");
        return 0;
}

static const AgentSource *ctl_find(const Ctl *c, const char *name) {
        for (size_t i = 0; i < c->n_sources; i++)
                if (streq(c->sources[i].name, name))
                        return &c->sources[i];
        return NULL;
}

/* Loads a definition without logging its problems. Returns agent_load()'s
 * result: 0, AGENT_MASKED or a negative errno. */
static int load_quiet(const AgentSource *s, Agent **ret) {
        Capture cap = { .quiet = true };
        Report report = {};
        int r;

        capture_attach(&report, &cap);
        r = agent_load(s->name, s->main_path, s->dropins, s->n_dropins, &report, ret);
        capture_done(&cap);
        return r;
}

static int check_name(const Ctl *c, const char *name, const AgentSource **ret) {
        const AgentSource *s;

        if (!agent_name_is_valid(name)) {
                log_error("'%s' is not a valid agent name.", name);
                return EXIT_USAGE;
        }
        s = ctl_find(c, name);
        if (!s) {
                log_error("No agent '%s' is defined (no %s.agent on the search path; see 'agentctl verify').",
                          name, name);
                return EXIT_UNKNOWN;
        }
        *ret = s;
        return EXIT_OK;
}

/* ---- the bus ------------------------------------------------------------ */

static bool bus_unreachable(int r, const sd_bus_error *e) {
        if (e && sd_bus_error_is_set(e))
                return sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
                                              SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_DISCONNECTED,
                                              SD_BUS_ERROR_TIMEOUT, SD_BUS_ERROR_NO_SERVER,
                                              "org.freedesktop.systemd1.ShuttingDown");
        /* No socket, nobody listening, or the connection dropped. */
        return r == -ENOENT || r == -ECONNREFUSED || r == -ENOTCONN || r == -ECONNRESET || r == -ETIMEDOUT ||
               r == -EHOSTDOWN || r == -ENXIO;
}

static int ctl_connect(Ctl *c) {
        int r;

        r = sd_bus_open_system(&c->bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus (is systemd running?): %m");
                return EXIT_UNREACHABLE;
        }
        return EXIT_OK;
}

/* Logs a failed call and maps it to an exit status. */
static int bus_fail(int r, const sd_bus_error *e, const char *what) {
        if (bus_unreachable(r, e)) {
                log_error("Failed to %s: %s (is systemd running?)", what,
                          e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
                return EXIT_UNREACHABLE;
        }
        log_error("Failed to %s: %s", what, e && sd_bus_error_is_set(e) ? e->message : strerror(-r));
        return EXIT_FAIL;
}

typedef struct Prop {
        const char *name;
        char type; /* 's', 't', 'u', 'b' */
        void *ptr;
} Prop;

/* Reads the a{sv} of a GetAll reply into the properties listed; the others
 * (and any of an unexpected type) are skipped. */
static int read_props(sd_bus_message *m, const Prop *props, size_t n) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *member, *contents;
                const Prop *p = NULL;

                r = sd_bus_message_read(m, "s", &member);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (streq(props[i].name, member))
                                p = &props[i];
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (p && contents[0] == p->type && contents[1] == '\0') {
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        if (p->type == 's') {
                                const char *s;
                                r = sd_bus_message_read_basic(m, 's', &s);
                                if (r < 0)
                                        return r;
                                free(*(char **) p->ptr);
                                *(char **) p->ptr = strdup(s);
                                if (!*(char **) p->ptr)
                                        return -ENOMEM;
                        } else if (p->type == 'b') {
                                int b;
                                r = sd_bus_message_read_basic(m, 'b', &b);
                                if (r < 0)
                                        return r;
                                *(bool *) p->ptr = b;
                        } else {
                                r = sd_bus_message_read_basic(m, p->type, p->ptr);
                                if (r < 0)
                                        return r;
                        }
                        r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static int get_all(sd_bus *bus, const char *dest, const char *path, const char *iface, const Prop *props,
                   size_t n, sd_bus_error *e) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, dest, path, "org.freedesktop.DBus.Properties", "GetAll", e, &reply, "s", iface);
        if (r < 0)
                return r;
        return read_props(reply, props, n);
}

typedef struct UnitInfo {
        char *load_state, *active_state, *sub_state, *description, *control_group, *result;
        uint64_t active_enter_usec, active_enter_mono, inactive_exit_usec;
        uint64_t runtime_max_usec, memory_current, cpu_usage_nsec, tasks_current;
        uint32_t n_restarts, main_pid;
} UnitInfo;

static void unit_info_done(UnitInfo *u) {
        free(u->load_state);
        free(u->active_state);
        free(u->sub_state);
        free(u->description);
        free(u->control_group);
        free(u->result);
        *u = (UnitInfo) {};
}

static bool unit_running(const UnitInfo *u) {
        return streq_ptr(u->active_state, "active") || streq_ptr(u->active_state, "reloading");
}

/* Fetches what agentctl shows of agent@NAME.service. Returns an exit status. */
static int unit_info_get(sd_bus *bus, const char *name, UnitInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL;
        char unit[96];
        UnitInfo u = {
                .runtime_max_usec = CTL_UNSET,
                .memory_current = CTL_UNSET,
                .cpu_usage_nsec = CTL_UNSET,
                .tasks_current = CTL_UNSET,
        };
        const Prop unit_props[] = {
                { "LoadState", 's', &u.load_state },
                { "ActiveState", 's', &u.active_state },
                { "SubState", 's', &u.sub_state },
                { "Description", 's', &u.description },
                { "ActiveEnterTimestamp", 't', &u.active_enter_usec },
                { "ActiveEnterTimestampMonotonic", 't', &u.active_enter_mono },
                { "InactiveExitTimestamp", 't', &u.inactive_exit_usec },
        };
        const Prop service_props[] = {
                { "RuntimeMaxUSec", 't', &u.runtime_max_usec },
                { "MemoryCurrent", 't', &u.memory_current },
                { "CPUUsageNSec", 't', &u.cpu_usage_nsec },
                { "TasksCurrent", 't', &u.tasks_current },
                { "NRestarts", 'u', &u.n_restarts },
                { "MainPID", 'u', &u.main_pid },
                { "ControlGroup", 's', &u.control_group },
                { "Result", 's', &u.result },
        };
        int r;

        unitname(unit, sizeof unit, name);
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return log_oom(), EXIT_FAIL;

        r = get_all(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit", unit_props,
                    ELEMENTSOF(unit_props), &e);
        if (r < 0) {
                unit_info_done(&u);
                char what[160];
                (void) snprintf(what, sizeof what, "get the state of %s", unit);
                return bus_fail(r, &e, what);
        }
        /* A unit that is not loaded has no Service properties worth reading. */
        if (!streq_ptr(u.load_state, "not-found")) {
                sd_bus_error_free(&e);
                r = get_all(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
                            service_props, ELEMENTSOF(service_props), &e);
                if (r < 0) {
                        unit_info_done(&u);
                        char what[160];
                        (void) snprintf(what, sizeof what, "get the service properties of %s", unit);
                        return bus_fail(r, &e, what);
                }
        }
        *ret = u;
        return EXIT_OK;
}

/* Uptime and TTL left of a running unit, CTL_UNSET where they do not apply.
 * systemd arms RuntimeMaxSec= from ActiveEnterTimestamp, so both count from
 * there (monotonic: immune to clock changes). */
static void unit_times(const UnitInfo *u, uint64_t *ret_uptime, uint64_t *ret_ttl) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), up;

        *ret_uptime = *ret_ttl = CTL_UNSET;
        if (!unit_running(u) || u->active_enter_mono == 0 || u->active_enter_mono > now)
                return;
        up = now - u->active_enter_mono;
        *ret_uptime = up;
        if (u->runtime_max_usec != CTL_UNSET && u->runtime_max_usec != 0)
                *ret_ttl = u->runtime_max_usec > up ? u->runtime_max_usec - up : 0;
}

/* ---- assignment file ---------------------------------------------------- */

/* Locks the state directory of a running agent, so that assign, release and
 * reap see one another's changes whole. -ENOENT: the agent is not running. */
static int lock_state_dir(const char *name, int *ret_fd) {
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = state_dir(name, &dir);
        if (r < 0)
                return r;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        if (flock(fd, LOCK_EX) < 0)
                return negative_errno();
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* Reads the assignment of agent NAME. -ENOENT: none. -EBADMSG: not ours. */
static int assignment_read(const char *name, Assignment *ret) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        size_t len;
        int r;

        if (asprintf(&path, "%s/%s/%s", AGENT_STATE_ROOT, name, ASSIGNMENT_FILE) < 0)
                return -ENOMEM;
        r = read_file_limited(path, ASSIGNMENT_FILE_MAX, &text, &len);
        if (r == -EFBIG)
                return -EBADMSG;
        if (r < 0)
                return r;
        return assignment_parse(text, len, ret);
}

/* Replaces the assignment atomically (temp file + rename in the same
 * directory), so a reader never sees half of one. */
static int assignment_write(int dir_fd, const Assignment *a) {
        _cleanup_free_ char *text = NULL;
        char tmp[64];
        int r;

        r = assignment_format(a, &text);
        if (r < 0)
                return r;
        (void) snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", ASSIGNMENT_FILE, (long) getpid());
        (void) unlinkat(dir_fd, tmp, 0);
        _cleanup_close_ int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return negative_errno();
        size_t len = strlen(text), done = 0;
        while (done < len) {
                ssize_t k = write(fd, text + done, len - done);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = negative_errno();
                        goto fail;
                }
                done += (size_t) k;
        }
        if (fsync(fd) < 0 || renameat(dir_fd, tmp, dir_fd, ASSIGNMENT_FILE) < 0) {
                r = negative_errno();
                goto fail;
        }
        return 0;
fail:
        (void) unlinkat(dir_fd, tmp, 0);
        return r;
}

/* ---- jobs --------------------------------------------------------------- */

typedef struct JobWait {
        char *job;
        char *result;
} JobWait;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (w->job && streq(path, w->job) && !w->result)
                w->result = strdup(result) ?: strdup("oom");
        return 0;
}

/* Queues METHOD (StartUnit, StopUnit, RestartUnit) for agent@NAME.service in
 * "replace" mode and waits for the job to finish. The JobRemoved signal is
 * matched before the job exists, so it cannot be missed. *ret_result is
 * systemd's job result ("done", "failed", "canceled", "timeout", …). */
static int run_job(sd_bus *bus, const char *method, const char *name, char **ret_result) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        JobWait w = {};
        const char *job;
        char unit[96], what[160];
        int r;

        unitname(unit, sizeof unit, name);
        (void) snprintf(what, sizeof what, "%s %s", method, unit);

        r = sd_bus_match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &w);
        if (r < 0)
                return bus_fail(r, NULL, "subscribe to job results");

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", method, &e, &reply, "ss", unit, "replace");
        if (r < 0)
                return bus_fail(r, &e, what);
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return bus_fail(r, NULL, what);
        w.job = strdup(job);
        if (!w.job)
                return log_oom(), EXIT_FAIL;

        while (!w.result) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, UINT64_MAX);
                if (r < 0)
                        break;
        }
        free(w.job);
        if (!w.result)
                return bus_fail(r, NULL, "wait for the job to finish");
        *ret_result = w.result;
        return EXIT_OK;
}

/* ---- the journal -------------------------------------------------------- */

/* True if stdout is the journal (a service's output; systemd says so in
 * $JOURNAL_STREAM=DEV:INODE): then printing a note would log it twice. */
static bool stdout_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
                return false;
        if (fstat(STDOUT_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

/* Writes MESSAGE to the journal as agentctl, attached to the agent's unit
 * (OBJECT_SYSTEMD_UNIT= is what "journalctl -u UNIT" shows for root's
 * messages), and to stdout unless that is the journal already. */
static void journal_note(const char *name, const char *event, const char *message) {
        char unit[96];

        unitname(unit, sizeof unit, name);
        (void) sd_journal_send("MESSAGE=%s", message,
                               "PRIORITY=%i", LOG_NOTICE,
                               "SYSLOG_IDENTIFIER=agentctl",
                               "OBJECT_SYSTEMD_UNIT=%s", unit,
                               "AGENTCAGE_AGENT=%s", name,
                               "AGENTCAGE_EVENT=%s", event,
                               NULL);
        if (!stdout_is_journal())
                printf("%s\n", message);
}

typedef struct JournalLine {
        uint64_t realtime;
        char *message;
        size_t len;
} JournalLine;

/* The last n lines of the unit's latest run (since it last left "inactive",
 * since_usec; 0: all): what it logged itself, what systemd said about it, and
 * what root's tools noted about it (the matches of journalctl -u).
 * The journal is read forwards into a ring of n lines. */
static int journal_tail(const char *name, uint64_t since_usec, size_t n, JournalLine **ret, size_t *ret_n) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;
        JournalLine *ring, *lines;
        size_t total = 0, k;
        char unit[96];
        int r;

        unitname(unit, sizeof unit, name);
        /* Not SD_JOURNAL_SYSTEM: the agent runs under a user-namespace uid,
         * and journald files the lines of such a uid in a user-UID journal. */
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        if (asprintf(&m1, "_SYSTEMD_UNIT=%s", unit) < 0 || asprintf(&m2, "UNIT=%s", unit) < 0 ||
            asprintf(&m3, "OBJECT_SYSTEMD_UNIT=%s", unit) < 0)
                return -ENOMEM;
        if ((r = sd_journal_add_match(j, m1, 0)) < 0 || (r = sd_journal_add_disjunction(j)) < 0 ||
            (r = sd_journal_add_match(j, m2, 0)) < 0 || (r = sd_journal_add_match(j, "_PID=1", 0)) < 0 ||
            (r = sd_journal_add_disjunction(j)) < 0 || (r = sd_journal_add_match(j, m3, 0)) < 0 ||
            (r = sd_journal_add_match(j, "_UID=0", 0)) < 0)
                return r;
        /* A second early: systemd's "Starting …" is stamped before the state change. */
        r = since_usec > USEC_PER_SEC ? sd_journal_seek_realtime_usec(j, since_usec - USEC_PER_SEC) :
                                        sd_journal_seek_head(j);
        if (r < 0)
                return r;
        ring = calloc(n, sizeof(JournalLine));
        if (!ring)
                return -ENOMEM;
        while ((r = sd_journal_next(j)) > 0) {
                JournalLine *l = &ring[total % n];
                const char *msg;
                const void *data;
                size_t len;

                if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < strlen("MESSAGE="))
                        continue;
                msg = (const char *) data + strlen("MESSAGE=");
                len -= strlen("MESSAGE=");
                /* A container's output runs through a pty: lines end in \r. */
                while (len > 0 && msg[len - 1] == '\r')
                        len--;
                free(l->message);
                l->message = strndup(msg, len);
                if (!l->message)
                        break;
                l->len = strlen(l->message);
                if (sd_journal_get_realtime_usec(j, &l->realtime) < 0)
                        l->realtime = 0;
                total++;
        }
        /* Oldest first. */
        k = MIN(total, n);
        lines = calloc(n, sizeof(JournalLine));
        if (!lines) {
                for (size_t i = 0; i < n; i++)
                        free(ring[i].message);
                free(ring);
                return -ENOMEM;
        }
        /* Every filled slot of the ring is one of the k lines: they move over. */
        for (size_t i = 0; i < k; i++)
                lines[i] = ring[(total - k + i) % n];
        free(ring);
        *ret = lines;
        *ret_n = k;
        return 0;
}

/* ---- list --------------------------------------------------------------- */

typedef struct Row {
        const AgentSource *source;
        const char *definition; /* "valid", "invalid", "masked" */
        uint64_t orphan_timeout;
        UnitInfo unit;
        Assignment assignment;
        int assignment_r;
        uint64_t uptime, ttl;
} Row;

static void row_done(Row *row) {
        unit_info_done(&row->unit);
        assignment_done(&row->assignment);
}

static int row_get(Ctl *c, const AgentSource *s, Row *ret) {
        _cleanup_agent_free_ Agent *a = NULL;
        Row row = { .source = s, .orphan_timeout = CTL_UNSET };
        int r, k;

        k = load_quiet(s, &a);
        if (k == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        row.definition = k == AGENT_MASKED ? "masked" : k < 0 ? "invalid" : "valid";
        if (k == 0)
                row.orphan_timeout = a->orphan_timeout_usec;

        r = unit_info_get(c->bus, s->name, &row.unit);
        if (r != EXIT_OK)
                return r;
        unit_times(&row.unit, &row.uptime, &row.ttl);
        row.assignment_r = unit_running(&row.unit) ? assignment_read(s->name, &row.assignment) : -ENOENT;
        *ret = row;
        return EXIT_OK;
}

static const char *row_task(const Row *row) {
        if (row->assignment_r == -ENOENT)
                return NULL;
        if (row->assignment_r < 0)
                return "?";
        return row->assignment.task;
}

static void json_row_common(FILE *f, const Row *row) {
        fputs("\"name\":", f);
        json_string(f, row->source->name);
        fputs(",\"definition\":", f);
        json_string(f, row->definition);
        fputs(",\"load_state\":", f);
        json_string(f, row->unit.load_state);
        fputs(",\"active_state\":", f);
        json_string(f, row->unit.active_state);
        fputs(",\"sub_state\":", f);
        json_string(f, row->unit.sub_state);
        fputs(",\"uptime_usec\":", f);
        json_u64(f, row->uptime);
        fputs(",\"ttl_left_usec\":", f);
        json_u64(f, row->ttl);
        fputs(",\"runtime_max_usec\":", f);
        json_u64(f, row->unit.runtime_max_usec);
        fputs(",\"memory_current_bytes\":", f);
        json_u64(f, row->unit.memory_current);
        fprintf(f, ",\"restarts\":%" PRIu32 ",\"task\":", row->unit.n_restarts);
        /* An unreadable assignment (not root) is null here, and unknown in the table. */
        json_string(f, row->assignment_r < 0 ? NULL : row->assignment.task);
}

static int verb_list(Ctl *c, char **args) {
        Row *rows;
        size_t n = 0;
        int r = EXIT_OK;

        if (arg_names) {
                for (size_t i = 0; i < c->n_sources; i++)
                        printf("%s\n", c->sources[i].name);
                return EXIT_OK;
        }
        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;

        rows = calloc(c->n_sources + 1, sizeof(Row));
        if (!rows)
                return log_oom(), EXIT_FAIL;
        for (; n < c->n_sources; n++) {
                r = row_get(c, &c->sources[n], &rows[n]);
                if (r != EXIT_OK)
                        goto out;
        }

        if (arg_json) {
                fputc('[', stdout);
                for (size_t i = 0; i < n; i++) {
                        fputs(i > 0 ? ",\n{" : "{", stdout);
                        json_row_common(stdout, &rows[i]);
                        fputc('}', stdout);
                }
                fputs("]\n", stdout);
        } else {
                printf("%-24s %-20s %-10s %-10s %-9s %-8s %s\n", "NAME", "STATE", "UPTIME", "TTL", "MEMORY",
                       "RESTARTS", "TASK");
                for (size_t i = 0; i < n; i++) {
                        const Row *row = &rows[i];
                        char state[64], up[FORMAT_TIMESPAN_MAX] = "-", ttl[FORMAT_TIMESPAN_MAX] = "-",
                                        mem[FORMAT_BYTES_MAX] = "-";
                        const char *task = row_task(row);

                        if (!streq(row->definition, "valid"))
                                (void) snprintf(state, sizeof state, "%s", row->definition);
                        else if (streq_ptr(row->unit.load_state, "not-found"))
                                (void) snprintf(state, sizeof state, "no-unit");
                        else
                                (void) snprintf(state, sizeof state, "%s/%s", strempty(row->unit.active_state),
                                                strempty(row->unit.sub_state));
                        if (row->uptime != CTL_UNSET)
                                format_timespan(up, sizeof up, row->uptime);
                        if (row->ttl != CTL_UNSET)
                                format_timespan(ttl, sizeof ttl, row->ttl);
                        if (row->unit.memory_current != CTL_UNSET)
                                format_bytes(mem, sizeof mem, row->unit.memory_current);
                        printf("%-24s %-20s %-10s %-10s %-9s %-8" PRIu32 " %s\n", row->source->name, state, up,
                               ttl, mem, row->unit.n_restarts, task ?: "-");
                }
        }
out:
        for (size_t i = 0; i < n; i++)
                row_done(&rows[i]);
        free(rows);
        return r;
}

/* ---- status ------------------------------------------------------------- */

typedef struct Machine {
        bool found;
        char *class, *state, *service;
        uint32_t leader;
} Machine;

static void machine_done(Machine *m) {
        free(m->class);
        free(m->state);
        free(m->service);
        *m = (Machine) {};
}

static int machine_get(sd_bus *bus, const char *name, Machine *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Machine m = {};
        const char *path;
        const Prop props[] = {
                { "Class", 's', &m.class },
                { "State", 's', &m.state },
                { "Service", 's', &m.service },
                { "Leader", 'u', &m.leader },
        };
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                               "org.freedesktop.machine1.Manager", "GetMachine", &e, &reply, "s", name);
        if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.machine1.NoSuchMachine")) {
                *ret = m;
                return EXIT_OK;
        }
        if (r < 0)
                return bus_fail(r, &e, "ask systemd-machined about the machine");
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = get_all(bus, "org.freedesktop.machine1", path, "org.freedesktop.machine1.Machine", props,
                            ELEMENTSOF(props), &e);
        if (r < 0) {
                machine_done(&m);
                return bus_fail(r, &e, "read the machine's properties");
        }
        m.found = true;
        *ret = m;
        return EXIT_OK;
}

/* memory.peak exists from Linux 5.19 on; CTL_UNSET where it does not. */
static uint64_t memory_peak(const char *cgroup) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        uint64_t v;

        if (!cgroup || cgroup[0] != '/' || asprintf(&path, "/sys/fs/cgroup%s/memory.peak", cgroup) < 0)
                return CTL_UNSET;
        if (read_file_limited(path, 64, &text, NULL) < 0)
                return CTL_UNSET;
        text[strcspn(text, "\n")] = '\0';
        if (parse_uint64_range(text, 0, UINT64_MAX - 1, &v) < 0)
                return CTL_UNSET;
        return v;
}

typedef struct Workspace {
        bool found;
        uint64_t size, used, available;
} Workspace;

/* The workspace is mounted inside the unit's own mount namespace (see
 * docs/DESIGN.md), invisible from the host's: it is looked at through the
 * root of the unit's main process (systemd-nspawn, still in that namespace).
 * Only a mount point counts; the bare directory on /run would report /run. */
static Workspace workspace_get(const char *name, uint32_t main_pid) {
        _cleanup_free_ char *path = NULL, *parent = NULL;
        struct statvfs sv;
        struct stat st, pst;
        Workspace w = {};

        if (main_pid == 0)
                return w;
        if (asprintf(&parent, "/proc/%" PRIu32 "/root%s/%s", main_pid, AGENT_STATE_ROOT, name) < 0 ||
            asprintf(&path, "%s/workspace", parent) < 0)
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

static int verb_status(Ctl *c, char **args) {
        const AgentSource *s;
        Row row = {};
        Machine m = {};
        Workspace w;
        JournalLine *lines = NULL;
        size_t n_lines = 0;
        uint64_t peak;
        int r, jr;
        char unit[96];

        r = check_name(c, args[0], &s);
        if (r != EXIT_OK)
                return r;
        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;
        r = row_get(c, s, &row);
        if (r != EXIT_OK)
                return r;
        r = machine_get(c->bus, s->name, &m);
        if (r != EXIT_OK)
                goto out;
        peak = unit_running(&row.unit) ? memory_peak(row.unit.control_group) : CTL_UNSET;
        w = workspace_get(s->name, unit_running(&row.unit) ? row.unit.main_pid : 0);
        jr = journal_tail(s->name, row.unit.inactive_exit_usec, JOURNAL_LINES, &lines, &n_lines);
        unitname(unit, sizeof unit, s->name);

        if (arg_json) {
                FILE *f = stdout;
                fputc('{', f);
                json_row_common(f, &row);
                fputs(",\"unit\":", f);
                json_string(f, unit);
                fputs(",\"description\":", f);
                json_string(f, row.unit.description);
                fputs(",\"result\":", f);
                json_string(f, row.unit.result);
                fputs(",\"active_enter_timestamp_usec\":", f);
                json_u64(f, row.unit.active_enter_usec == 0 ? CTL_UNSET : row.unit.active_enter_usec);
                fputs(",\"memory_peak_bytes\":", f);
                json_u64(f, peak);
                fputs(",\"cpu_usage_nsec\":", f);
                json_u64(f, row.unit.cpu_usage_nsec);
                fputs(",\"tasks_current\":", f);
                json_u64(f, row.unit.tasks_current);
                fputs(",\"main_pid\":", f);
                json_u64(f, row.unit.main_pid == 0 ? CTL_UNSET : row.unit.main_pid);
                fputs(",\"control_group\":", f);
                json_string(f, row.unit.control_group && row.unit.control_group[0] ? row.unit.control_group : NULL);
                fputs(",\"orphan_timeout_usec\":", f);
                json_u64(f, row.orphan_timeout);
                fputs(",\"assignment\":", f);
                if (row.assignment_r < 0)
                        fputs("null", f);
                else {
                        fputs("{\"task\":", f);
                        json_string(f, row.assignment.task);
                        fputs(",\"assigned_usec\":", f);
                        json_u64(f, row.assignment.task ? row.assignment.assigned : CTL_UNSET);
                        fputs(",\"lease_until_usec\":", f);
                        json_u64(f, row.assignment.task && row.assignment.lease_until > 0 ?
                                        row.assignment.lease_until : CTL_UNSET);
                        fputs(",\"released_usec\":", f);
                        json_u64(f, row.assignment.released > 0 ? row.assignment.released : CTL_UNSET);
                        fputc('}', f);
                }
                fputs(",\"workspace\":", f);
                if (!w.found)
                        fputs("null", f);
                else {
                        fputs("{\"path\":", f);
                        fprintf(f, "\"%s/%s/workspace\"", AGENT_STATE_ROOT, s->name);
                        fprintf(f, ",\"size_bytes\":%" PRIu64 ",\"used_bytes\":%" PRIu64
                                   ",\"available_bytes\":%" PRIu64 "}",
                                w.size, w.used, w.available);
                }
                fputs(",\"machine\":", f);
                if (!m.found)
                        fputs("null", f);
                else {
                        fputs("{\"name\":", f);
                        json_string(f, s->name);
                        fprintf(f, ",\"leader\":%" PRIu32 ",\"class\":", m.leader);
                        json_string(f, m.class);
                        fputs(",\"state\":", f);
                        json_string(f, m.state);
                        fputs(",\"service\":", f);
                        json_string(f, m.service);
                        fputc('}', f);
                }
                fputs(",\"definition\":{\"path\":", f);
                json_string(f, s->main_path);
                fputs(",\"dropins\":[", f);
                for (size_t i = 0; i < s->n_dropins; i++) {
                        if (i > 0)
                                fputc(',', f);
                        json_string(f, s->dropins[i]);
                }
                fputs("]},\"journal\":", f);
                if (jr < 0)
                        fputs("null", f);
                else {
                        fputc('[', f);
                        for (size_t i = 0; i < n_lines; i++) {
                                fputs(i > 0 ? ",{\"realtime_usec\":" : "{\"realtime_usec\":", f);
                                json_u64(f, lines[i].realtime);
                                fputs(",\"message\":", f);
                                json_string(f, lines[i].message);
                                fputc('}', f);
                        }
                        fputc(']', f);
                }
                fputs("}\n", f);
        } else {
                char t1[FORMAT_TIMESPAN_MAX], t2[FORMAT_TIMESPAN_MAX], b1[FORMAT_BYTES_MAX], b2[FORMAT_BYTES_MAX],
                        d[64];

                printf("%s - ", unit);
                print_sanitized(stdout, strempty(row.unit.description), strlen(strempty(row.unit.description)), false);
                printf("\n  Definition: %s (%s)\n", s->main_path, row.definition);
                for (size_t i = 0; i < s->n_dropins; i++)
                        printf("              %s\n", s->dropins[i]);
                printf("       State: %s (%s)", strempty(row.unit.active_state), strempty(row.unit.sub_state));
                if (row.uptime != CTL_UNSET)
                        printf(" since %s; %s ago", format_time(d, sizeof d, row.unit.active_enter_usec),
                               format_timespan(t1, sizeof t1, row.uptime));
                else if (row.unit.result && !streq(row.unit.result, "success"))
                        printf("; last result: %s", row.unit.result);
                printf("\n");
                if (row.ttl != CTL_UNSET)
                        printf("         TTL: %s left (RuntimeMaxSec=%s)\n", format_timespan(t1, sizeof t1, row.ttl),
                               format_timespan(t2, sizeof t2, row.unit.runtime_max_usec));
                if (row.assignment_r == -ENOENT || (row.assignment_r >= 0 && !row.assignment.task))
                        printf("        Task: -\n");
                else if (row.assignment_r < 0)
                        printf("        Task: unknown (%s)\n", strerror(-row.assignment_r));
                else {
                        printf("        Task: %s (assigned %s", row.assignment.task,
                               format_time(d, sizeof d, row.assignment.assigned));
                        if (row.assignment.lease_until > 0)
                                printf(", lease until %s", format_time(d, sizeof d, row.assignment.lease_until));
                        printf(")\n");
                }
                if (row.orphan_timeout != CTL_UNSET)
                        printf("      Orphan: %s\n", row.orphan_timeout == 0 ? "never reaped (OrphanTimeoutSec=0)" :
                               format_timespan(t1, sizeof t1, row.orphan_timeout));
                if (row.unit.memory_current != CTL_UNSET)
                        printf("      Memory: %s (peak %s)\n", format_bytes(b1, sizeof b1, row.unit.memory_current),
                               peak != CTL_UNSET ? format_bytes(b2, sizeof b2, peak) : "unavailable");
                if (row.unit.cpu_usage_nsec != CTL_UNSET)
                        printf("         CPU: %s\n", format_timespan(t1, sizeof t1, row.unit.cpu_usage_nsec / 1000));
                if (row.unit.tasks_current != CTL_UNSET)
                        printf("       Tasks: %" PRIu64 "\n", row.unit.tasks_current);
                printf("    Restarts: %" PRIu32 "\n", row.unit.n_restarts);
                if (w.found)
                        printf("   Workspace: %s used of %s, %s available\n", format_bytes(b1, sizeof b1, w.used),
                               format_bytes(b2, sizeof b2, w.size), format_bytes(d, sizeof d, w.available));
                else if (unit_running(&row.unit))
                        printf("   Workspace: unavailable (%s)\n", geteuid() != 0 ? "needs root" : "not mounted");
                if (m.found)
                        printf("     Machine: %s (class %s, state %s, leader %" PRIu32 ")\n", s->name,
                               strempty(m.class), strempty(m.state), m.leader);
                else
                        printf("     Machine: not registered\n");
                if (jr < 0)
                        printf("\nJournal unavailable: %s\n", strerror(-jr));
                else {
                        printf("\n");
                        for (size_t i = 0; i < n_lines; i++) {
                                printf("%s ", format_time(d, sizeof d, lines[i].realtime));
                                print_sanitized(stdout, lines[i].message, lines[i].len, false);
                                printf("\n");
                        }
                }
        }
        r = EXIT_OK;
out:
        for (size_t i = 0; i < n_lines; i++)
                free(lines[i].message);
        free(lines);
        machine_done(&m);
        row_done(&row);
        return r;
}

/* ---- start, stop, restart ----------------------------------------------- */

static int prepare_control(Ctl *c, const char *name, const AgentSource **ret_source, UnitInfo *ret_unit) {
        int r;

        r = check_name(c, name, ret_source);
        if (r != EXIT_OK)
                return r;
        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;
        return unit_info_get(c->bus, name, ret_unit);
}

static int verb_job(Ctl *c, char **args, const char *method, const char *done) {
        _cleanup_free_ char *result = NULL;
        const AgentSource *s;
        UnitInfo u = {};
        int r;

        r = prepare_control(c, args[0], &s, &u);
        if (r != EXIT_OK)
                return r;
        unit_info_done(&u);
        if (!streq(method, "StopUnit")) {
                /* Such an agent would only meet the fallback agent@.service. */
                _cleanup_agent_free_ Agent *a = NULL;
                r = load_quiet(s, &a);
                if (r == -ENOMEM)
                        return log_oom(), EXIT_FAIL;
                if (r != 0) {
                        log_error("Agent %s cannot start: its definition %s (see 'agentctl verify').", s->name,
                                  r == AGENT_MASKED ? "is masked" : "has errors");
                        return EXIT_FAIL;
                }
        }

        r = run_job(c->bus, method, s->name, &result);
        if (r != EXIT_OK)
                return r;
        if (!streq(result, "done")) {
                log_error("Failed to %s agent %s: the job ended '%s'. See 'agentctl status %s'.",
                          streq(method, "StartUnit") ? "start" : streq(method, "StopUnit") ? "stop" : "restart",
                          s->name, result, s->name);
                return EXIT_FAIL;
        }
        printf("%s agent %s.\n", done, s->name);
        return EXIT_OK;
}

static int verb_start(Ctl *c, char **args) {
        return verb_job(c, args, "StartUnit", "Started");
}

static int verb_stop(Ctl *c, char **args) {
        return verb_job(c, args, "StopUnit", "Stopped");
}

static int verb_restart(Ctl *c, char **args) {
        return verb_job(c, args, "RestartUnit", "Restarted");
}

/* ---- assign, release ---------------------------------------------------- */

static int lock_running(Ctl *c, const char *name, const AgentSource **ret_source, int *ret_fd) {
        UnitInfo u = {};
        bool running;
        int r;

        r = prepare_control(c, name, ret_source, &u);
        if (r != EXIT_OK)
                return r;
        running = unit_running(&u);
        unit_info_done(&u);
        if (!running) {
                log_error("Agent %s is not running.", name);
                return EXIT_FAIL;
        }
        r = lock_state_dir(name, ret_fd);
        if (r == -ENOENT) {
                log_error("Agent %s is not running (no %s/%s).", name, AGENT_STATE_ROOT, name);
                return EXIT_FAIL;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to lock %s/%s: %m", AGENT_STATE_ROOT, name);
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

static int verb_assign(Ctl *c, char **args) {
        _cleanup_close_ int dir_fd = -EBADF;
        const AgentSource *s;
        Assignment old = {}, a = {};
        char d[64], msg[512];
        int r;

        if (!task_is_valid(args[1])) {
                log_error("A task must be 1 to %u bytes of printable UTF-8 without control characters or "
                          "leading/trailing spaces.", TASK_MAX);
                return EXIT_USAGE;
        }
        r = lock_running(c, args[0], &s, &dir_fd);
        if (r != EXIT_OK)
                return r;

        r = assignment_read(s->name, &old);
        if (r < 0 && r != -ENOENT && r != -EBADMSG) {
                log_error_errno(r, "Failed to read the assignment of %s: %m", s->name);
                return EXIT_FAIL;
        }
        if (r == -EBADMSG)
                log_warning("The assignment file of %s was malformed; replacing it.", s->name);

        a.task = args[1];
        a.assigned = now_usec(CLOCK_REALTIME);
        a.lease_until = arg_lease_set ? a.assigned + arg_lease_usec : 0;
        a.released = r >= 0 ? old.released : 0;
        r = assignment_write(dir_fd, &a);
        if (r < 0) {
                assignment_done(&old);
                log_error_errno(r, "Failed to write the assignment of %s: %m", s->name);
                return EXIT_FAIL;
        }
        if (old.task)
                log_info("Replacing task '%s' of %s.", old.task, s->name);
        if (arg_lease_set)
                (void) snprintf(msg, sizeof msg, "assigned: task %s to %s, lease until %s", a.task, s->name,
                                format_time(d, sizeof d, a.lease_until));
        else
                (void) snprintf(msg, sizeof msg, "assigned: task %s to %s, no lease", a.task, s->name);
        journal_note(s->name, "assigned", msg);
        assignment_done(&old);
        return EXIT_OK;
}

static int verb_release(Ctl *c, char **args) {
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_free_ char *result = NULL;
        const AgentSource *s;
        Assignment a = {};
        char msg[512];
        int r;

        r = lock_running(c, args[0], &s, &dir_fd);
        if (r != EXIT_OK)
                return r;
        r = assignment_read(s->name, &a);
        if (r == -ENOENT || (r >= 0 && !a.task)) {
                assignment_done(&a);
                log_error("Agent %s has no task assigned.", s->name);
                return EXIT_FAIL;
        }
        if (r < 0) {
                log_error_errno(r, "Failed to read the assignment of %s: %m", s->name);
                return EXIT_FAIL;
        }

        /* Keep the release time until the directory is recycled: should the
         * stop not happen, the reaper counts the orphan time from here. */
        (void) snprintf(msg, sizeof msg, "released: task %s completed", a.task);
        free(a.task);
        a = (Assignment) { .released = now_usec(CLOCK_REALTIME) };
        r = assignment_write(dir_fd, &a);
        if (r < 0) {
                log_error_errno(r, "Failed to write the assignment of %s: %m", s->name);
                return EXIT_FAIL;
        }
        journal_note(s->name, "released", msg);

        r = run_job(c->bus, "StopUnit", s->name, &result);
        if (r != EXIT_OK)
                return r;
        if (!streq(result, "done")) {
                log_error("Failed to stop agent %s: the job ended '%s'. See 'agentctl status %s'.", s->name, result,
                          s->name);
                return EXIT_FAIL;
        }
        printf("Stopped agent %s.\n", s->name);
        return EXIT_OK;
}

/* ---- reap --------------------------------------------------------------- */

static int reap_one(Ctl *c, const AgentSource *s) {
        _cleanup_agent_free_ Agent *a = NULL;
        _cleanup_close_ int dir_fd = -EBADF;
        _cleanup_free_ char *result = NULL;
        Assignment as = {};
        UnitInfo u = {};
        OrphanVerdict v;
        uint64_t orphan, started;
        char t1[FORMAT_TIMESPAN_MAX], t2[FORMAT_TIMESPAN_MAX], msg[512];
        int r;

        r = load_quiet(s, &a);
        if (r == -ENOMEM)
                return log_oom(), EXIT_FAIL;
        if (r != 0 || a->orphan_timeout_usec == 0)
                return EXIT_OK; /* masked, invalid (no unit), or never reaped */

        r = unit_info_get(c->bus, s->name, &u);
        if (r != EXIT_OK)
                return r;
        started = u.active_enter_usec;
        if (!unit_running(&u) || started == 0) {
                unit_info_done(&u);
                return EXIT_OK;
        }
        unit_info_done(&u);

        r = lock_state_dir(s->name, &dir_fd);
        if (r == -ENOENT)
                return EXIT_OK; /* stopped meanwhile */
        if (r < 0) {
                log_error_errno(r, "Failed to lock %s/%s, not reaping it: %m", AGENT_STATE_ROOT, s->name);
                return EXIT_FAIL;
        }
        r = assignment_read(s->name, &as);
        if (r < 0 && r != -ENOENT) {
                /* Never stop an agent on data we cannot read. */
                log_error_errno(r, "Failed to read the assignment of %s, not reaping it: %m", s->name);
                return EXIT_FAIL;
        }
        v = orphan_verdict(now_usec(CLOCK_REALTIME), started, r >= 0 ? &as : NULL, a->orphan_timeout_usec, &orphan);
        if (!orphan_verdict_reaps(v)) {
                assignment_done(&as);
                return EXIT_OK;
        }
        format_timespan(t2, sizeof t2, a->orphan_timeout_usec);
        if (v == ORPHAN_REAP_EXPIRED)
                (void) snprintf(msg, sizeof msg, "reaped %s: lease of task %s expired %s ago (OrphanTimeoutSec=%s)",
                                s->name, as.task, format_timespan(t1, sizeof t1, orphan), t2);
        else
                (void) snprintf(msg, sizeof msg, "reaped %s: no task assignment for %s (OrphanTimeoutSec=%s)",
                                s->name, format_timespan(t1, sizeof t1, orphan), t2);
        assignment_done(&as);
        journal_note(s->name, "reaped", msg);

        r = run_job(c->bus, "StopUnit", s->name, &result);
        if (r != EXIT_OK)
                return r;
        if (!streq(result, "done")) {
                log_error("Failed to stop agent %s: the job ended '%s'.", s->name, result);
                return EXIT_FAIL;
        }
        return EXIT_OK;
}

static int verb_reap(Ctl *c, char **args) {
        int r, ret = EXIT_OK;

        r = ctl_connect(c);
        if (r != EXIT_OK)
                return r;
        for (size_t i = 0; i < c->n_sources; i++) {
                r = reap_one(c, &c->sources[i]);
                if (r == EXIT_UNREACHABLE)
                        return r;
                if (r != EXIT_OK)
                        ret = r; /* one agent's trouble does not spare the others */
        }
        return ret;
}

/* ---- cat ---------------------------------------------------------------- */

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
        r = read_file_limited(path, CAT_FILE_MAX, &f->text, NULL);
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
                print_sanitized(stdout, f->text, strlen(f->text), true);
                if (f->text[0] && f->text[strlen(f->text) - 1] != '\n')
                        printf("\n");
        }
}

static void cat_json(const CatFile *f) {
        fputs("{\"path\":", stdout);
        json_string(stdout, f->path);
        fputs(",\"text\":", stdout);
        json_string(stdout, f->text);
        fputs(",\"note\":", stdout);
        json_string(stdout, f->note);
        fputc('}', stdout);
}

static int verb_cat(Ctl *c, char **args) {
        _cleanup_agent_free_ Agent *a = NULL;
        _cleanup_free_ char *unit_path = NULL;
        const AgentSource *s;
        const char *gen_dir = getenv("AGENTCAGE_GENERATOR_DIR") ?: GENERATOR_DIR_DEFAULT;
        CatFile main_file = {}, *dropins = NULL, unit_file = {};
        const char *unit_source = NULL;
        Buffer rendered = {};
        char unit[96];
        int r, k;

        r = check_name(c, args[0], &s);
        if (r != EXIT_OK)
                return r;
        unitname(unit, sizeof unit, s->name);

        cat_file_load(&main_file, s->main_path);
        dropins = calloc(s->n_dropins + 1, sizeof(CatFile));
        if (!dropins)
                return log_oom(), EXIT_FAIL;
        for (size_t i = 0; i < s->n_dropins; i++)
                cat_file_load(&dropins[i], s->dropins[i]);

        if (asprintf(&unit_path, "%s/%s", gen_dir, unit) < 0) {
                (void) log_oom();
                r = EXIT_FAIL;
                goto out;
        }
        if (read_file_limited(unit_path, CAT_FILE_MAX, &unit_file.text, NULL) >= 0) {
                unit_file.path = unit_path;
                unit_source = "generated";
        } else {
                /* Not generated (yet): show what the generator would write. */
                k = load_quiet(s, &a);
                unit_file.path = unit;
                if (k == -ENOMEM) {
                        (void) log_oom();
                        r = EXIT_FAIL;
                        goto out;
                } else if (k == AGENT_MASKED)
                        unit_file.note = "masked: no unit";
                else if (k < 0)
                        unit_file.note = "the definition has errors, no unit (see 'agentctl verify')";
                else if (render_unit(a, &rendered) < 0) {
                        (void) log_oom();
                        r = EXIT_FAIL;
                        goto out;
                } else {
                        unit_file.text = TAKE_PTR(rendered.data);
                        unit_file.note = "rendered from the definition, not generated yet";
                        unit_source = "rendered";
                }
        }

        if (arg_json) {
                fputs("{\"agent\":", stdout);
                json_string(stdout, s->name);
                fputs(",\"definition\":", stdout);
                cat_json(&main_file);
                fputs(",\"dropins\":[", stdout);
                for (size_t i = 0; i < s->n_dropins; i++) {
                        if (i > 0)
                                fputc(',', stdout);
                        cat_json(&dropins[i]);
                }
                fputs("],\"unit\":", stdout);
                cat_json(&unit_file);
                fputs(",\"unit_source\":", stdout);
                json_string(stdout, unit_source);
                fputs("}\n", stdout);
        } else {
                cat_print(&main_file);
                for (size_t i = 0; i < s->n_dropins; i++) {
                        printf("\n");
                        cat_print(&dropins[i]);
                }
                printf("\n");
                cat_print(&unit_file);
        }
        r = EXIT_OK;
out:
        free(main_file.text);
        for (size_t i = 0; i < s->n_dropins; i++)
                free(dropins[i].text);
        free(dropins);
        free(unit_file.text);
        buffer_done(&rendered);
        return r;
}

/* ---- verify ------------------------------------------------------------- */

static void json_captured(const Capture *cap, bool errors) {
        bool first = true;

        fputc('[', stdout);
        for (size_t i = 0; i < cap->n_items; i++) {
                const Captured *it = &cap->items[i];
                if (it->error != errors)
                        continue;
                fputs(first ? "{\"file\":" : ",{\"file\":", stdout);
                first = false;
                json_string(stdout, it->file);
                fputs(",\"line\":", stdout);
                json_u64(stdout, it->line == 0 ? CTL_UNSET : it->line);
                fputs(",\"section\":", stdout);
                json_string(stdout, it->section);
                fputs(",\"key\":", stdout);
                json_string(stdout, it->key);
                fputs(",\"message\":", stdout);
                json_string(stdout, it->message);
                fputc('}', stdout);
        }
        fputc(']', stdout);
}

typedef struct VerifyState {
        bool first;
        unsigned n_bad;
} VerifyState;

/* Verifies one agent: its main file and drop-ins. name may be NULL for a
 * file that is not NAME.agent (reported as such). */
static int verify_one(VerifyState *vs, const char *file, const char *name, char *const *dropins, size_t n_dropins) {
        _cleanup_agent_free_ Agent *a = NULL;
        Capture cap = { .quiet = arg_json };
        Report report = {};
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

        if (r == -ENOMEM || cap.oom) {
                capture_done(&cap);
                return log_oom();
        }
        bool valid = report.n_errors == 0 && r >= 0;
        if (!valid)
                vs->n_bad++;

        if (arg_json) {
                fputs(vs->first ? "{\"file\":" : ",\n{\"file\":", stdout);
                vs->first = false;
                json_string(stdout, file);
                fputs(",\"agent\":", stdout);
                json_string(stdout, name);
                fprintf(stdout, ",\"valid\":%s,\"masked\":%s,\"errors\":", valid ? "true" : "false",
                        r == AGENT_MASKED ? "true" : "false");
                json_captured(&cap, true);
                fputs(",\"warnings\":", stdout);
                json_captured(&cap, false);
                fputc('}', stdout);
        } else if (r == AGENT_MASKED)
                printf("%s: masked\n", file);
        else if (valid)
                printf("%s: OK\n", file);
        else
                printf("%s: %u error%s\n", file, report.n_errors, report.n_errors == 1 ? "" : "s");
        capture_done(&cap);
        return 0;
}

static int verb_verify(Ctl *c, char **args) {
        VerifyState vs = { .first = true };
        int r;

        if (arg_json)
                fputc('[', stdout);

        if (!args[0]) {
                Capture cap = { .quiet = arg_json };
                Report report = {};
                AgentSource *sources = NULL;
                size_t n = 0;

                capture_attach(&report, &cap);
                r = definitions_discover(c->search_path, &report, &sources, &n);
                if (r < 0 || cap.oom) {
                        capture_done(&cap);
                        return log_error_errno(r < 0 ? r : -ENOMEM, "Failed to discover agent definitions: %m"),
                               EXIT_FAIL;
                }
                /* Files the discovery itself refused (bad names) are entries of their own. */
                for (size_t i = 0; i < cap.n_items; i++) {
                        const Captured *it = &cap.items[i];
                        if (!it->error)
                                continue;
                        vs.n_bad++;
                        if (arg_json) {
                                fputs(vs.first ? "{\"file\":" : ",\n{\"file\":", stdout);
                                vs.first = false;
                                json_string(stdout, it->file);
                                fputs(",\"agent\":null,\"valid\":false,\"masked\":false,\"errors\":[{\"file\":", stdout);
                                json_string(stdout, it->file);
                                fputs(",\"line\":null,\"section\":null,\"key\":null,\"message\":", stdout);
                                json_string(stdout, it->message);
                                fputs("}],\"warnings\":[]}", stdout);
                        } else
                                printf("%s: 1 error\n", it->file);
                }
                if (arg_json) /* discovery warnings (unreadable folders) still reach stderr */
                        for (size_t i = 0; i < cap.n_items; i++)
                                if (!cap.items[i].error)
                                        log_warning("%s: %s", cap.items[i].file, cap.items[i].message);
                capture_done(&cap);

                for (size_t i = 0; i < n && r >= 0; i++)
                        r = verify_one(&vs, sources[i].main_path, sources[i].name, sources[i].dropins,
                                       sources[i].n_dropins);
                agent_sources_free(sources, n);
                if (r < 0)
                        return EXIT_FAIL;
        } else
                for (size_t i = 0; args[i]; i++) {
                        const char *base = strrchr(args[i], '/');
                        _cleanup_free_ char *name = NULL;
                        size_t len;

                        base = base ? base + 1 : args[i];
                        len = strlen(base);
                        if (len > strlen(".agent") && streq(base + len - strlen(".agent"), ".agent")) {
                                name = strndup(base, len - strlen(".agent"));
                                if (!name)
                                        return log_oom(), EXIT_FAIL;
                        }
                        r = verify_one(&vs, args[i], name, NULL, 0);
                        if (r < 0)
                                return EXIT_FAIL;
                }

        if (arg_json)
                fputs("]\n", stdout);
        return vs.n_bad > 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- main --------------------------------------------------------------- */

enum {
        F_ROOT = 1 << 0,   /* changes state: root only */
        F_JSON = 1 << 1,   /* --json allowed */
        F_LEASE = 1 << 2,  /* --lease allowed */
        F_NAMES = 1 << 3,  /* --names allowed */
};

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        unsigned flags;
        int (*run)(Ctl *c, char **args);
} Verb;

static const Verb verbs[] = {
        { "list", 0, 0, F_JSON | F_NAMES, verb_list },
        { "status", 1, 1, F_JSON, verb_status },
        { "start", 1, 1, F_ROOT, verb_start },
        { "stop", 1, 1, F_ROOT, verb_stop },
        { "restart", 1, 1, F_ROOT, verb_restart },
        { "assign", 2, 2, F_ROOT | F_LEASE, verb_assign },
        { "release", 1, 1, F_ROOT, verb_release },
        { "reap", 0, 0, F_ROOT, verb_reap },
        { "cat", 1, 1, F_JSON, verb_cat },
        { "verify", 0, UINT_MAX, F_JSON, verb_verify },
};

static void help(void) {
        printf("agentctl [OPTIONS] COMMAND [ARGS…]\n\n"
               "Shows and controls the agents of agentcage.\n\n"
               "Commands:\n"
               "  list [--names]              every defined agent, its state, uptime, TTL, memory, task\n"
               "  status NAME                 everything about one agent, with its last journal lines\n"
               "  start NAME                  start the agent and wait for the result\n"
               "  stop NAME                   stop the agent and wait for the result\n"
               "  restart NAME                restart the agent and wait for the result\n"
               "  assign NAME TASK [--lease=DURATION]\n"
               "                              give a running agent a task (to hold until DURATION)\n"
               "  release NAME                the task is done: drop it and stop the agent\n"
               "  reap                        stop agents without a task for longer than OrphanTimeoutSec=\n"
               "  cat NAME                    the definition, its drop-ins and the unit made from it\n"
               "  verify [FILE…]              check definitions with the generator's own code\n"
               "  export NAME --format kubernetes|oci-seccomp|docker\n"
               "                              the agent's floor for another engine (see export --help)\n\n"
               "Options:\n"
               "  --json                      machine-readable output (list, status, cat, verify)\n"
               "  --names                     list: print only the names\n"
               "  --lease=DURATION            assign: the lease, e.g. 30min\n"
               "  -h --help                   this help\n"
               "  --version                   the version\n\n"
               "See agentctl(1).\n");
}

int main(int argc, char *argv[]) {
        enum { ARG_JSON = 0x100, ARG_NAMES, ARG_LEASE, ARG_VERSION };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },
                { "names", no_argument, NULL, ARG_NAMES },
                { "lease", required_argument, NULL, ARG_LEASE },
                {}
        };
        _cleanup_(ctl_done) Ctl ctl = {};
        const Verb *verb = NULL;
        unsigned n_args;
        int c, r;

        log_set_prefix("agentctl");
        /* A reply from systemd is not a reason to leave files others can write. */
        umask(0077);
        if (argc > 1 && streq(argv[1], "export")) /* its own options: see export.c */
                return verb_export(argc - 1, argv + 1);

        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_OK;
                case ARG_VERSION:
                        printf("agentctl %s\n", PACKAGE_VERSION);
                        return EXIT_OK;
                case ARG_JSON:
                        if (arg_json) {
                                log_error("--json given twice.");
                                return EXIT_USAGE;
                        }
                        arg_json = true;
                        break;
                case ARG_NAMES:
                        if (arg_names) {
                                log_error("--names given twice.");
                                return EXIT_USAGE;
                        }
                        arg_names = true;
                        break;
                case ARG_LEASE:
                        if (arg_lease_set) {
                                log_error("--lease given twice.");
                                return EXIT_USAGE;
                        }
                        r = parse_timespan(optarg, &arg_lease_usec);
                        if (r < 0 || arg_lease_usec == 0) {
                                log_error("Invalid --lease '%s': expected a positive duration such as 90s, 30min "
                                          "or 2h.", optarg);
                                return EXIT_USAGE;
                        }
                        arg_lease_set = true;
                        break;
                case '?':
                        if (optopt != 0 && optopt < 0x100)
                                log_error("Unknown option '-%c' (see --help).", optopt);
                        else if (optopt != 0)
                                log_error("Option '%s' needs a value (see --help).", argv[optind - 1]);
                        else
                                log_error("Unknown option '%s' (see --help).", argv[optind - 1]);
                        return EXIT_USAGE;
                default:
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                log_error("No command given (see --help).");
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, argv[optind]))
                        verb = &verbs[i];
        if (!verb) {
                log_error("Unknown command '%s' (see --help).", argv[optind]);
                return EXIT_USAGE;
        }
        n_args = (unsigned) (argc - optind - 1);
        if (n_args < verb->min_args || n_args > verb->max_args) {
                log_error("'agentctl %s' takes %s (see --help).", verb->name,
                          verb->max_args == 0 ? "no arguments" :
                          verb->min_args == 2 ? "NAME and TASK" :
                          verb->max_args == 1 ? "exactly one agent NAME" : "FILEs");
                return EXIT_USAGE;
        }
        if (arg_json && !(verb->flags & F_JSON)) {
                log_error("'agentctl %s' has no --json output.", verb->name);
                return EXIT_USAGE;
        }
        if (arg_names && !(verb->flags & F_NAMES)) {
                log_error("--names applies to 'agentctl list' only.");
                return EXIT_USAGE;
        }
        if (arg_names && arg_json) {
                log_error("--names and --json do not go together.");
                return EXIT_USAGE;
        }
        if (arg_lease_set && !(verb->flags & F_LEASE)) {
                log_error("--lease applies to 'agentctl assign' only.");
                return EXIT_USAGE;
        }
        if ((verb->flags & F_ROOT) && geteuid() != 0) {
                log_error("'agentctl %s' changes the state of agents and needs root.", verb->name);
                return EXIT_NOT_ROOT;
        }

        r = ctl_discover(&ctl);
        if (r < 0)
                return EXIT_FAIL;
        r = verb->run(&ctl, argv + optind + 1);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                log_error("Failed to write the output.");
                return EXIT_FAIL;
        }
        return r;
}
