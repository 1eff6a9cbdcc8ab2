/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What agentctl reads of a running agent's state directory: agent.state as
 * agent-runtime start writes it (agent_state_info_format), the assignment,
 * the list of agents' directories, and where reap takes the orphan timeout
 * from: agent.state, never the definition as it is now; the definition only
 * for an agent started without agent.state. Runs against a temporary
 * $AGENTCAGE_RUNTIME_DIR. */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse-value.h"
#include "state.h"
#include "tap.h"

static char root[] = "/tmp/test-agentctl-state-XXXXXX";

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");
        CHECK_MSG(f && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
}

static char *at(const char *a, const char *b) {
        char *p;
        if (asprintf(&p, "%s/%s%s%s", root, a, b ? "/" : "", b ?: "") < 0)
                abort();
        return p;
}

/* Writes NAME/agent.state the way agent-runtime start does. */
static void write_state(const char *name, uint64_t orphan, AppArmorMode aa, char **exceptions) {
        AgentStateInfo i = {
                .started_usec = 1764600000000000,
                .orphan_timeout_usec = orphan,
                .userns_base = 524288,
                .apparmor = aa,
                .image = (char *) "demo",
                .image_digest = (char *) "sha256:0123abcd",
                .image_exceptions = exceptions,
        };
        char *text = NULL, *dir = at(name, NULL), *path = at(name, AGENT_STATE_INFO);

        (void) mkdir(dir, 0700);
        CHECK(agent_state_info_format(&i, &text) == 0);
        write_file(path, text);
        free(text);
        free(dir);
        free(path);
}

static void test_info(void) {
        AgentStateInfo i = {};
        char *exc[] = { (char *) "/usr/bin/sudo", (char *) "/etc/shadow", NULL };
        char *p;

        write_state("web", 20 * USEC_PER_SEC, APPARMOR_OPTIONAL, exc);
        CHECK(state_info_read("web", &i) == 0);
        CHECK(i.orphan_timeout_usec == 20 * USEC_PER_SEC && i.apparmor == APPARMOR_OPTIONAL);
        CHECK_STREQ(i.image, "demo");
        CHECK_STREQ(i.image_digest, "sha256:0123abcd");
        CHECK(strv_length(i.image_exceptions) == 2);
        CHECK_STREQ(i.image_exceptions[1], "/etc/shadow");
        agent_state_info_done(&i);

        CHECK(state_info_read("nope", &i) == -ENOENT);
        CHECK(state_info_read("Not_A_Name", &i) == -EINVAL);
        /* Something else in agent.state is not ours. */
        p = at("web", AGENT_STATE_INFO);
        write_file(p, "STARTED_USEC=1\nBOGUS=1\n");
        CHECK(state_info_read("web", &i) == -EBADMSG);
        free(p);
}

static void test_assignment(void) {
        Assignment a = { .task = (char *) "triage \"1234\"", .assigned = 5, .lease_until = 0 }, b = {};
        char *dir = at("db", NULL);
        int fd;

        CHECK(mkdir(dir, 0700) == 0);
        CHECK(state_assignment_read("db", &b) == -ENOENT);
        CHECK(state_lock("db", &fd) == 0);
        CHECK(state_assignment_write(fd, &a) == 0);
        close(fd);
        CHECK(state_assignment_read("db", &b) == 0 && b.assigned == 5);
        CHECK_STREQ(b.task, "triage \"1234\"");
        assignment_done(&b);
        CHECK(state_lock("gone", &fd) == -ENOENT);
        free(dir);
}

static void test_list(void) {
        char **names = NULL, *p;
        size_t n = 0;

        /* Not agents: the lease folder, a bad name, a file, a symlink. */
        p = at(".userns", NULL); /* the lease folder of older versions */
        CHECK(mkdir(p, 0700) == 0);
        free(p);
        p = at("Bad_Name", NULL);
        CHECK(mkdir(p, 0700) == 0);
        free(p);
        p = at("file", NULL);
        write_file(p, "x");
        free(p);
        p = at("link", NULL);
        CHECK(symlink("/etc", p) == 0);
        free(p);
        CHECK(state_list_names(&names, &n) == 0);
        CHECK(n == 2 && streq(names[0], "db") && streq(names[1], "web") && !names[2]);
        strv_free(names);
}

static void test_orphan_timeout(void) {
        AgentSource s = { .name = (char *) "api" };
        char *def = at("api.agent", NULL), *state = at("api", AGENT_STATE_INFO);
        uint64_t t = 1;
        TimeoutSource from;

        s.main_path = def;
        write_file(def, "[Agent]\nImage=/srv/image\nExec=/bin/true\n\n[Lifecycle]\nOrphanTimeoutSec=90s\n");
        /* No agent.state (an agent started by an older version): the definition. */
        CHECK(state_orphan_timeout("api", &s, &t, &from) == 0);
        CHECK(from == TIMEOUT_FROM_DEFINITION && t == 90 * USEC_PER_SEC);

        /* With agent.state, what was fixed at start counts, whatever the definition says now. */
        write_state("api", 20 * USEC_PER_SEC, APPARMOR_REQUIRED, NULL);
        CHECK(state_orphan_timeout("api", &s, &t, &from) == 0);
        CHECK(from == TIMEOUT_FROM_STATE && t == 20 * USEC_PER_SEC);

        /* An edited, now invalid definition does not keep the agent from being reaped. */
        write_file(def, "[Agent]\nImage=/srv/image\nExec=/bin/true\n\n[Lifecycle]\nOrphanTimeoutSec=soon\nBogus=1\n");
        CHECK(state_orphan_timeout("api", &s, &t, &from) == 0);
        CHECK(from == TIMEOUT_FROM_STATE && t == 20 * USEC_PER_SEC);
        /* Nor does a deleted one. */
        CHECK(unlink(def) == 0);
        CHECK(state_orphan_timeout("api", NULL, &t, &from) == 0);
        CHECK(from == TIMEOUT_FROM_STATE && t == 20 * USEC_PER_SEC);

        /* Without agent.state, an invalid or absent definition: unknown, never reaped. */
        CHECK(unlink(state) == 0);
        write_file(def, "[Agent]\nOrphanTimeoutSec=soon\n");
        CHECK(state_orphan_timeout("api", &s, &t, &from) == 0);
        CHECK(from == TIMEOUT_UNKNOWN && t == 0);
        CHECK(state_orphan_timeout("api", NULL, &t, &from) == 0 && from == TIMEOUT_UNKNOWN);

        /* A malformed agent.state is an error, not a fallback to the definition. */
        write_file(state, "ORPHAN_TIMEOUT_USEC=x\n");
        CHECK(state_orphan_timeout("api", &s, &t, &from) == -EBADMSG);
        free(def);
        free(state);
}

int main(void) {
        if (!mkdtemp(root))
                return 1;
        setenv("AGENTCAGE_RUNTIME_DIR", root, 1);
        CHECK_STREQ(agent_state_root(), root);
        test_info();
        test_assignment();
        test_list();
        test_orphan_timeout();
        {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
                CHECK(system(cmd) == 0);
        }
        return tap_finish();
}
