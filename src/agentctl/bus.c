/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "log.h"
#include "parse-value.h"

char *agent_unit_name(char *buf, size_t size, const char *name) {
        (void) snprintf(buf, size, "agent@%s.service", name);
        return buf;
}

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

/* Logs a failed call (what: "get the state of X") and returns its -errno. */
static int bus_fail(int r, const sd_bus_error *e, const char *what) {
        const char *why = e && sd_bus_error_is_set(e) ? e->message : strerror(-r);

        if (bus_unreachable(r, e)) {
                log_error("Failed to %s: %s (is systemd running?)", what, why);
                return -CTL_E_UNREACHABLE;
        }
        log_error("Failed to %s: %s", what, why);
        return ctl_plain_failure(r);
}

int bus_connect(sd_bus **ret) {
        int r;

        r = sd_bus_open_system(ret);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus (is systemd running?): %m");
                return -CTL_E_UNREACHABLE;
        }
        return 0;
}

typedef struct Prop {
        const char *name;
        char type; /* 's', 't', 'u', 'b' */
        void *ptr;
} Prop;

static int read_prop_value(sd_bus_message *m, const Prop *p) {
        int r;

        if (p->type == 's') {
                const char *s;
                r = sd_bus_message_read_basic(m, 's', &s);
                if (r < 0)
                        return r;
                free(*(char **) p->ptr);
                *(char **) p->ptr = strdup(s);
                return *(char **) p->ptr ? 0 : -ENOMEM;
        }
        if (p->type == 'b') {
                int b;
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *) p->ptr = b;
                return 0;
        }
        return sd_bus_message_read_basic(m, p->type, p->ptr);
}

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
                        if (r >= 0)
                                r = read_prop_value(m, p);
                        if (r >= 0)
                                r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
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

void unit_info_done(UnitInfo *u) {
        free(u->load_state);
        free(u->active_state);
        free(u->sub_state);
        free(u->description);
        free(u->control_group);
        free(u->result);
        *u = (UnitInfo) {};
}

bool unit_running(const UnitInfo *u) {
        return streq_ptr(u->active_state, "active") || streq_ptr(u->active_state, "reloading");
}

bool unit_present(const UnitInfo *u) {
        return u->active_state && !streq(u->active_state, "inactive") && !streq(u->active_state, "failed");
}

int unit_info_get(sd_bus *bus, const char *name, UnitInfo *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(unit_info_done) UnitInfo u = {
                .runtime_max_usec = CTL_UNSET,
                .memory_current = CTL_UNSET,
                .cpu_usage_nsec = CTL_UNSET,
                .tasks_current = CTL_UNSET,
        };
        _cleanup_free_ char *path = NULL;
        char unit[AGENT_UNIT_MAX], what[160];
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

        agent_unit_name(unit, sizeof unit, name);
        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", unit, &path);
        if (r < 0)
                return log_oom();
        r = get_all(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit", unit_props,
                    ELEMENTSOF(unit_props), &e);
        if (r < 0) {
                (void) snprintf(what, sizeof what, "get the state of %s", unit);
                return bus_fail(r, &e, what);
        }
        /* A unit that is not loaded has no Service properties worth reading. */
        if (!streq_ptr(u.load_state, "not-found")) {
                sd_bus_error_free(&e);
                r = get_all(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Service",
                            service_props, ELEMENTSOF(service_props), &e);
                if (r < 0) {
                        (void) snprintf(what, sizeof what, "get the service properties of %s", unit);
                        return bus_fail(r, &e, what);
                }
        }
        *ret = u;
        u = (UnitInfo) {};
        return 0;
}

static uint64_t now_monotonic(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

/* systemd arms RuntimeMaxSec= from ActiveEnterTimestamp, so both count from
 * there (monotonic: immune to clock changes). */
void unit_times(const UnitInfo *u, uint64_t *ret_uptime, uint64_t *ret_ttl) {
        uint64_t now = now_monotonic(), up;

        *ret_uptime = *ret_ttl = CTL_UNSET;
        if (!unit_running(u) || u->active_enter_mono == 0 || u->active_enter_mono > now)
                return;
        up = now - u->active_enter_mono;
        *ret_uptime = up;
        if (u->runtime_max_usec != CTL_UNSET && u->runtime_max_usec != 0)
                *ret_ttl = u->runtime_max_usec > up ? u->runtime_max_usec - up : 0;
}

/* NAME of "agent@NAME.service", or NULL. */
static char *agent_of_unit(const char *unit) {
        size_t n = strlen(unit);

        if (strncmp(unit, "agent@", 6) != 0 || n < 6 + 8 || !streq(unit + n - 8, ".service"))
                return NULL;
        return strndup(unit + 6, n - 6 - 8);
}

static int read_unit_list(sd_bus_message *reply, char ***names, size_t *n) {
        const char *unit, *active;
        int r;

        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &unit, NULL, NULL, &active, NULL, NULL, NULL,
                                        NULL, NULL, NULL)) > 0) {
                _cleanup_free_ char *name = agent_of_unit(unit);
                char **grown;

                if (!name || !agent_name_is_valid(name) || streq(active, "inactive") || streq(active, "failed"))
                        continue;
                grown = reallocarray(*names, *n + 2, sizeof(char *));
                if (!grown)
                        return -ENOMEM;
                *names = grown;
                grown[(*n)++] = TAKE_PTR(name);
                grown[*n] = NULL;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(reply);
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int bus_list_agents(sd_bus *bus, char ***ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_strv_free_ char **names = calloc(1, sizeof(char *));
        size_t n = 0;
        int r;

        if (!names)
                return log_oom();
        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "ListUnitsByPatterns");
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 1, "agent@*.service");
        if (r < 0)
                return log_oom();
        r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0)
                return bus_fail(r, &e, "list the agents' units");
        r = read_unit_list(reply, &names, &n);
        if (r < 0)
                return bus_fail(r, NULL, "read the list of units");
        qsort(names, n, sizeof(char *), cmp_str);
        *ret = TAKE_PTR(names);
        *ret_n = n;
        return 0;
}

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

/* The JobRemoved signal is matched before the job exists, so it cannot be
 * missed. */
int bus_run_job(sd_bus *bus, const char *method, const char *name, char **ret_result) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        JobWait w = {};
        const char *job;
        char unit[AGENT_UNIT_MAX], what[160];
        int r;

        agent_unit_name(unit, sizeof unit, name);
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
                return log_oom();
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
        return 0;
}

void machine_done(Machine *m) {
        free(m->class);
        free(m->state);
        free(m->service);
        *m = (Machine) {};
}

int machine_get(sd_bus *bus, const char *name, Machine *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(machine_done) Machine m = {};
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
                *ret = (Machine) {};
                return 0;
        }
        if (r < 0)
                return bus_fail(r, &e, "ask systemd-machined about the machine");
        r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = get_all(bus, "org.freedesktop.machine1", path, "org.freedesktop.machine1.Machine", props,
                            ELEMENTSOF(props), &e);
        if (r < 0)
                return bus_fail(r, &e, "read the machine's properties");
        m.found = true;
        *ret = m;
        m = (Machine) {};
        return 0;
}
