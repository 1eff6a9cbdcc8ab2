/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state layout module: paths, and agent.state written by start and read
 * by agentctl, round-tripped and parsed strictly. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-state.h"
#include "macro.h"
#include "tap.h"

static int parse(const char *text) {
        AgentStateInfo i = {};
        int r = agent_state_info_parse(text, strlen(text), &i);
        agent_state_info_done(&i);
        return r;
}

int main(void) {
        _cleanup_free_ char *p = NULL, *text = NULL;
        char *exc[] = { (char *) "/usr/bin/python3.11", NULL };
        AgentStateInfo in = {
                .started_usec = 1700000000000000, .orphan_timeout_usec = 300000000,
                .userns_base = 0x70010000, .apparmor = APPARMOR_OPTIONAL,
                .image = (char *) "docker://r.example:5000/a@sha256:00", .image_digest = NULL,
                .image_exceptions = exc,
        }, out = {};

        unsetenv("AGENTCAGE_RUNTIME_DIR");
        CHECK(agent_state_path("web", AGENT_STATE_INFO, &p) == 0 && streq(p, "/run/agentcage/web/agent.state"));
        free(p), p = NULL;
        setenv("AGENTCAGE_RUNTIME_DIR", "/tmp/x/../y", 1);
        CHECK(agent_state_path("web", NULL, &p) == 0 && streq(p, "/run/agentcage/web"));
        free(p), p = NULL;
        setenv("AGENTCAGE_RUNTIME_DIR", "/tmp/t", 1);
        CHECK(agent_state_path("web", "assignment", &p) == 0 && streq(p, "/tmp/t/web/assignment"));
        CHECK(agent_state_path("../etc", NULL, &p) == -EINVAL);
        CHECK(agent_state_path("Web", NULL, &p) == -EINVAL);

        CHECK(agent_state_info_format(&in, &text) == 0);
        CHECK(agent_state_info_parse(text, strlen(text), &out) == 0);
        CHECK(out.started_usec == in.started_usec && out.orphan_timeout_usec == in.orphan_timeout_usec);
        CHECK(out.userns_base == in.userns_base && out.apparmor == APPARMOR_OPTIONAL);
        CHECK(streq(out.image, in.image) && !out.image_digest);
        CHECK(out.image_exceptions && streq(out.image_exceptions[0], exc[0]) && !out.image_exceptions[1]);
        agent_state_info_done(&out);

        in.image = (char *) "bad\nIMAGE=x";
        free(text), text = NULL;
        CHECK(agent_state_info_format(&in, &text) == -EINVAL);

        static const char ok[] = "STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1879048192\nAPPARMOR=required\nIMAGE=demo\n";
        CHECK(parse(ok) == 0);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1\nAPPARMOR=required\n") == -EBADMSG); /* no IMAGE */
        CHECK(parse("STARTED_USEC=1\nSTARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1\nAPPARMOR=required\nIMAGE=demo\n") == -EBADMSG);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=-1\nUSERNS_BASE=1\nAPPARMOR=required\nIMAGE=demo\n") == -EBADMSG);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=4294967296\nAPPARMOR=required\nIMAGE=demo\n") == -EBADMSG);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1\nAPPARMOR=maybe\nIMAGE=demo\n") == -EBADMSG);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1\nAPPARMOR=required\nIMAGE=demo\nEXTRA=1\n") == -EBADMSG);
        CHECK(parse("STARTED_USEC=1\nORPHAN_TIMEOUT_USEC=0\nUSERNS_BASE=1\nAPPARMOR=required\nIMAGE=demo") == -EBADMSG); /* no final newline */
        return tap_finish();
}
