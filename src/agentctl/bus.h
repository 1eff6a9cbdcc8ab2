/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agentctl's side of the system bus: what systemd says about agent@NAME.service
 * and machined about machine NAME, and the jobs that start and stop it.
 * Every function logs its failure and returns a negative errno: -EHOSTDOWN
 * (exit status 5) when systemd or machined cannot be reached. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "ctl-util.h"

#define AGENT_UNIT_MAX 96 /* "agent@" + a name of at most 63 + ".service" */

/* agent@NAME.service into buf (at least AGENT_UNIT_MAX bytes). */
char *agent_unit_name(char *buf, size_t size, const char *name);

int bus_connect(sd_bus **ret);

typedef struct UnitInfo {
        char *load_state, *active_state, *sub_state, *description, *control_group, *result;
        uint64_t active_enter_usec, active_enter_mono, inactive_exit_usec;
        uint64_t runtime_max_usec, memory_current, cpu_usage_nsec, tasks_current;
        uint32_t n_restarts, main_pid;
} UnitInfo;

void unit_info_done(UnitInfo *u);
/* active or reloading: what agentctl calls running. */
bool unit_running(const UnitInfo *u);
/* Not inactive or failed: a unit that still has (or is getting) processes. */
bool unit_present(const UnitInfo *u);
int unit_info_get(sd_bus *bus, const char *name, UnitInfo *ret);
/* Uptime and TTL left of a running unit, CTL_UNSET where they do not apply. */
void unit_times(const UnitInfo *u, uint64_t *ret_uptime, uint64_t *ret_ttl);

/* The names NAME of the agent@NAME.service units systemd has loaded and that
 * are neither inactive nor failed, sorted (an agent whose definition was deleted while it
 * runs is still one of them). */
int bus_list_agents(sd_bus *bus, char ***ret, size_t *ret_n);

/* Queues METHOD (StartUnit, StopUnit, RestartUnit) for agent@NAME.service in
 * "replace" mode and waits for the job. *ret_result is systemd's job result
 * ("done", "failed", "canceled", "timeout", …). */
int bus_run_job(sd_bus *bus, const char *method, const char *name, char **ret_result);

typedef struct Machine {
        bool found;
        char *class, *state, *service;
        uint32_t leader;
} Machine;

void machine_done(Machine *m);
/* m->found is false when machined has no such machine. */
int machine_get(sd_bus *bus, const char *name, Machine *ret);
