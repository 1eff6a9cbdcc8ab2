/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "egress-log.h"
#include "macro.h"

static bool to_stderr;

void egress_log_to_stderr(bool b) {
        to_stderr = b;
}

/* Values come from the agent (host, method were checked by the parser: no
 * spaces or controls) or from us; %s with them is safe in both sinks. */
void egress_log_decision(const EgressDecision *d) {
        const char *verdict = d->allowed ? "allow" : "deny";

        if (to_stderr) {
                flockfile(stderr);
                fprintf(stderr,
                        "EGRESS EGRESS_AGENT=%s EGRESS_HOST=%s EGRESS_PORT=%u EGRESS_METHOD=%s EGRESS_VERDICT=%s "
                        "EGRESS_RULE=\"%s\" EGRESS_ADDRESS=%s EGRESS_BYTES_UP=%" PRIu64 " EGRESS_BYTES_DOWN=%" PRIu64
                        " EGRESS_DURATION_USEC=%" PRIu64 " OBJECT_SYSTEMD_UNIT=agent@%s.service\n",
                        d->agent, d->host, (unsigned) d->port, d->method, verdict, d->rule, d->address ? d->address : "-",
                        d->bytes_up, d->bytes_down, d->duration_usec, d->agent);
                fflush(stderr);
                funlockfile(stderr);
                return;
        }
        (void) sd_journal_send("MESSAGE=egress %s %s %s:%u (%s)", verdict, d->method, d->host, (unsigned) d->port, d->rule,
                               "PRIORITY=%i", d->allowed ? LOG_INFO : LOG_NOTICE,
                               "SYSLOG_IDENTIFIER=agentcage-egress",
                               "OBJECT_SYSTEMD_UNIT=agent@%s.service", d->agent,
                               "EGRESS_AGENT=%s", d->agent,
                               "EGRESS_HOST=%s", d->host,
                               "EGRESS_PORT=%u", (unsigned) d->port,
                               "EGRESS_METHOD=%s", d->method,
                               "EGRESS_VERDICT=%s", verdict,
                               "EGRESS_RULE=%s", d->rule,
                               "EGRESS_ADDRESS=%s", d->address ? d->address : "",
                               "EGRESS_BYTES_UP=%" PRIu64, d->bytes_up,
                               "EGRESS_BYTES_DOWN=%" PRIu64, d->bytes_down,
                               "EGRESS_DURATION_USEC=%" PRIu64, d->duration_usec,
                               NULL);
}
