/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl start, stop and restart: a job for agent@NAME.service, waited for. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bus.h"
#include "capture.h"
#include "ctl.h"
#include "log.h"

/* Runs the job and says how it ended: 0 when systemd says "done". */
int ctl_job(Ctl *c, const char *method, const char *name) {
        _cleanup_free_ char *result = NULL;
        const char *what = streq(method, "StartUnit") ? "start" : streq(method, "StopUnit") ? "stop" : "restart";
        int r;

        r = bus_run_job(c->bus, method, name, &result);
        if (r < 0)
                return r;
        if (!streq(result, "done")) {
                log_error("Failed to %s agent %s: the job ended '%s'. See 'agentctl status %s'.", what, name,
                          result, name);
                return -EIO;
        }
        return 0;
}

static int verb_job(Ctl *c, char **args, const char *method, const char *done) {
        bool stop = streq(method, "StopUnit");
        AgentRef ref;
        int r;

        /* An agent whose definition went away can still be stopped, never started. */
        r = ctl_resolve(c, args[0], !stop, &ref);
        if (r < 0)
                return r;
        r = ctl_connect(c);
        if (r < 0)
                return r;
        if (!stop) {
                /* Such an agent would only meet the fallback agent@.service. */
                _cleanup_agent_free_ Agent *a = NULL;
                r = definition_load_quiet(ref.source, &a);
                if (r == -ENOMEM)
                        return log_oom();
                if (r != 0) {
                        log_error("Agent %s cannot start: its definition %s (see 'agentctl verify').", ref.name,
                                  r == AGENT_MASKED ? "is masked" : "has errors");
                        return -ENOEXEC;
                }
        }
        r = ctl_job(c, method, ref.name);
        if (r < 0)
                return r;
        printf("%s agent %s.\n", done, ref.name);
        return 0;
}

int verb_start(Ctl *c, char **args) {
        return verb_job(c, args, "StartUnit", "Started");
}

int verb_stop(Ctl *c, char **args) {
        return verb_job(c, args, "StopUnit", "Stopped");
}

int verb_restart(Ctl *c, char **args) {
        return verb_job(c, args, "RestartUnit", "Restarted");
}
