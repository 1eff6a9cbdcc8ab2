/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* One record per decision. To the journal with structured fields and
 * OBJECT_SYSTEMD_UNIT=agent@NAME.service (journalctl -u agent@NAME shows
 * records of a root sender that name the unit this way), or, with
 * --log=stderr, the same fields as one "EGRESS KEY=VALUE …" line. */

typedef struct EgressDecision {
        const char *agent;
        const char *host;
        uint16_t port;
        const char *method;
        bool allowed;
        const char *rule;
        const char *address; /* the address connected to, or NULL */
        uint64_t bytes_up, bytes_down;
        uint64_t duration_usec;
} EgressDecision;

void egress_log_to_stderr(bool b);
void egress_log_decision(const EgressDecision *d);
