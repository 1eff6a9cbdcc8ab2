/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [Egress] from a definition file to what the generator writes: the schema's
 * checks with file, section and key, the unit lines, and the compiled policy
 * file, which the proxy's own reader must accept and judge the same way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "egress-policy.h"
#include "render-egress.h"
#include "render.h"
#include "tap.h"

static char dir[] = "/tmp/test-egress-schema-XXXXXX";
static char last_error[512];

static void record(void *userdata, bool error, const char *path, unsigned line, const char *section,
                   const char *key, const char *message) {
        if (error)
                snprintf(last_error, sizeof last_error, "%s:%u [%s] %s: %s", strrchr(path, '/') + 1, line,
                         section ? section : "", key ? key : "", message);
}

static int load(const char *egress, Agent **ret) {
        char path[256];
        Report r = { .record = record, .quiet = true };

        snprintf(path, sizeof path, "%s/t.agent", dir);
        FILE *f = fopen(path, "we");
        fprintf(f, "[Agent]\nImage=/var/lib/machines/t\nExec=/bin/agent\n%s", egress);
        fclose(f);
        last_error[0] = '\0';
        return agent_load("t", path, NULL, 0, &r, ret);
}

static void refused(const char *egress, const char *where, const char *what) {
        Agent *a = NULL;
        int r = load(egress, &a);
        CHECK_MSG(r == -EINVAL && strstr(last_error, where) && strstr(last_error, what),
                  "refused with '%s' … '%s': got %d '%.300s'", where, what, r, last_error);
        agent_free(a);
}

int main(void) {
        Agent *a = NULL;
        Buffer b = {};
        EgressPolicy pol;
        char why[256], rule[EGRESS_RULE_MAX];

        CHECK(mkdtemp(dir) != NULL);

        /* refusals name file, line, section and key */
        refused("[Egress]\nAllow=10.0.0.1\n", "t.agent:5 [Egress] Allow", "IP literals are not allowed");
        refused("[Egress]\nAllow=[::1]:443\n", "[Egress] Allow", "IP literals");
        refused("[Egress]\nAllow=*\n", "[Egress] Allow", "bare '*'");
        refused("[Egress]\nAllow=*.com\n", "[Egress] Allow", "top-level domain");
        refused("[Egress]\nAllow=api.example.com:0\n", "[Egress] Allow", "1 to 65535");
        refused("[Egress]\nAllow=api.example.com:70000\n", "[Egress] Allow", "is out of range");
        refused("[Egress]\nAllow=api.example.com api.example.com:443\n", "[Egress] Allow", "listed twice");
        refused("[Egress]\nAllow=bad_host.example.com\n", "[Egress] Allow", "not a host name");
        refused("[Egress]\nDeny=x.example.com\n", "[Egress] Deny", "Deny= without Allow=");
        refused("[Egress]\nAllow=a.example.com\nMethods=write\n", "[Egress] Methods", "expected all or read-only");
        refused("[Egress]\nAllow=a.example.com\nProxy=yes\n", "[Egress] Proxy", "unknown key");
        refused("[Security]\nNetwork=private\n[Egress]\nAllow=a.example.com\n", "[Egress] Allow", "Network=none");

        /* no [Egress]: no proxy, no policy, unit as before */
        CHECK(load("", &a) == 0);
        CHECK(a && !a->egress_allow);
        render_egress_unit(a, &b);
        CHECK(b.len == 0);
        CHECK(render_egress_policy(a, &b) == -ENOENT);
        buffer_reset(&b);
        CHECK(render_unit(a, &b) == 0);
        CHECK(strstr(b.data, "IPAddressAllow=") == NULL);
        CHECK(strstr(b.data, "--network=none") != NULL);
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        CHECK(emit_egress_policy_at(dfd, a) == 0);
        CHECK(faccessat(dfd, "agentcage-egress", F_OK, 0) < 0);
        a = agent_free(a);

        /* a good one */
        CHECK(load("[Egress]\nAllow=API.example.com *.cdn.example.net:8443 plain.example.org:80\n"
                   "Deny=bad.cdn.example.net:8443\nMethods=read-only\n", &a) == 0);
        CHECK(a && a->egress_allow && a->egress_read_only);
        CHECK_STREQ(a->egress_allow[0], "api.example.com:443");
        CHECK_STREQ(a->egress_allow[1], "*.cdn.example.net:8443");
        CHECK_STREQ(a->egress_deny[0], "bad.cdn.example.net:8443");
        buffer_reset(&b);
        CHECK(render_unit(a, &b) == 0);
        CHECK(strstr(b.data, "\nPrivateNetwork=yes\n") && strstr(b.data, "\nIPAddressDeny=any\n") &&
              strstr(b.data, "\nIPAddressAllow=localhost\n"));
        CHECK(strstr(b.data, "--network=egress") != NULL && strstr(b.data, "--network=none") == NULL);

        /* the compiled policy, read back by the proxy's reader */
        buffer_reset(&b);
        CHECK(render_egress_policy(a, &b) == 0);
        CHECK(egress_policy_parse_text(b.data, &pol, why, sizeof why) == 0);
        CHECK(pol.n_allow == 3 && pol.n_deny == 1 && pol.methods == EGRESS_METHODS_READ_ONLY);
        CHECK(egress_policy_judge(&pol, "api.example.com", 443, "CONNECT", true, rule, sizeof rule));
        CHECK(!egress_policy_judge(&pol, "bad.cdn.example.net", 8443, "CONNECT", true, rule, sizeof rule));
        CHECK_STREQ(rule, "Deny=bad.cdn.example.net:8443");
        CHECK(!egress_policy_judge(&pol, "plain.example.org", 80, "PUT", false, rule, sizeof rule));
        CHECK_STREQ(rule, "Methods=read-only");

        /* written whole into the generator's directory, never replaced */
        CHECK(emit_egress_policy_at(dfd, a) == 0);
        CHECK(egress_policy_load(strcat(strcpy((char[300]) {}, dir), "/agentcage-egress/t.policy"), &pol, why,
                                 sizeof why) == 0 && pol.n_allow == 3);
        CHECK(emit_egress_policy_at(dfd, a) == -EEXIST);
        a = agent_free(a);
        close(dfd);
        buffer_done(&b);

        char cmd[350];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                printf("# cleanup of %s failed\n", dir);
        return tap_finish();
}
