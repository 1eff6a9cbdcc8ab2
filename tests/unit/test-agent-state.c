/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state layout module: paths, and agent.state written by start and read
 * by agentctl, round-tripped and parsed strictly. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "agent-state.h"
#include "fs-util.h"
#include "macro.h"
#include "tap.h"

static int parse(const char *text) {
        AgentStateInfo i = {};
        int r = agent_state_info_parse(text, strlen(text), &i);
        agent_state_info_done(&i);
        return r;
}

/* agent.state written atomically where agent_state_path() says, read back
 * bounded and strictly; read_file_bounded() refuses what is too large,
 * not a regular file, or a symlink. */
static void test_write_read(void) {
        char tmp[] = "/tmp/test-agent-state-XXXXXX", p[300];
        AgentStateInfo in = { .started_usec = 5, .orphan_timeout_usec = 600000000, .userns_base = 0x00120000,
                              .apparmor = APPARMOR_REQUIRED, .image = (char *) "/var/lib/agents/images/demo",
                              .image_digest = (char *) "sha256:00" }, out = {};
        _cleanup_free_ char *text = NULL;
        size_t len = 0;

        if (!mkdtemp(tmp))
                abort();
        CHECK(setenv("AGENTCAGE_RUNTIME_DIR", tmp, 1) == 0);
        CHECK(agent_state_info_read("web", &out) == -ENOENT);
        snprintf(p, sizeof p, "%s/web", tmp);
        CHECK(mkdir(p, 0700) == 0);
        CHECK(agent_state_info_write("web", &in) == 0);
        CHECK(agent_state_info_read("web", &out) == 0);
        CHECK(out.userns_base == 0x00120000 && out.orphan_timeout_usec == 600000000 && out.started_usec == 5);
        CHECK(streq(out.image, in.image) && out.image_digest && streq(out.image_digest, "sha256:00"));
        agent_state_info_done(&out);
        snprintf(p, sizeof p, "%s/web/.#agent.state.tmp", tmp);
        CHECK_MSG(access(p, F_OK) < 0, "no temporary file is left");
        CHECK(agent_state_info_write("Bad", &in) == -EINVAL);

        snprintf(p, sizeof p, "%s/web/agent.state", tmp);
        CHECK(read_file_bounded(AT_FDCWD, p, 4096, &text, &len) == 0 && len == strlen(text) && len > 0);
        CHECK(read_file_bounded(AT_FDCWD, p, len - 1, &text, &len) == -EFBIG);
        CHECK(read_file_bounded(AT_FDCWD, "/dev/null", 10, &text, &len) == -EBADFD);
        CHECK(read_file_bounded(AT_FDCWD, tmp, 10, &text, &len) == -EBADFD);
        {
                char l[300];
                snprintf(l, sizeof l, "%s/link", tmp);
                CHECK(symlink(p, l) == 0);
                CHECK_MSG(read_file_bounded(AT_FDCWD, l, 4096, &text, &len) == -ELOOP, "a symlink is not followed");
        }
        CHECK(unsetenv("AGENTCAGE_RUNTIME_DIR") == 0);
        snprintf(p, sizeof p, "rm -rf -- '%s'", tmp);
        CHECK(system(p) == 0);
}

static void test_shared_state_path(void) {
        static const char *const good[] = { "/var/lib/agents/web", "/var/lib/agents/a/b", "/var/lib/agents/imagesx" };
        static const char *const bad[] = { "/var/lib/agents", "/var/lib/agents/", "/var/lib/agents/images",
                                           "/var/lib/agents/images/x", "/var/lib/machines/x", "/srv/x",
                                           "/var/lib/agents/a:b", "/var/lib/agents/a,b", "/var/lib/agents/../x" };
        const char *why;

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                CHECK_MSG(shared_state_path_check(good[i], NULL) == 0, "%s is a shared state path", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                why = NULL;
                CHECK_MSG(shared_state_path_check(bad[i], &why) == -EINVAL && why, "%s is refused (%s)", bad[i],
                          why ? why : "?");
        }
        CHECK(shared_state_path_check("/var/lib/agents/images/x", &why) == -EINVAL && strstr(why, "image store"));
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
        test_write_read();
        test_shared_state_path();
        return tap_finish();
}
