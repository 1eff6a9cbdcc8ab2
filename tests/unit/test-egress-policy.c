/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Egress patterns (the validator the schema and the proxy share), the
 * verdict with the rule that decided, and the compiled policy file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "egress-policy.h"
#include "tap.h"

static const struct {
        const char *s;
        int expect;
        const char *canonical_or_why;
} patterns[] = {
        { "api.example.com", 0, "api.example.com:443" },
        { "API.Example.com:8443", 0, "api.example.com:8443" },
        { "*.example.com", 0, "*.example.com:443" },
        { "*.example.com:80", 0, "*.example.com:80" },
        { "a-b.c0.example", 0, "a-b.c0.example:443" },
        { "*", -EINVAL, "bare '*'" },
        { "*:443", -EINVAL, "bare '*'" },
        { "*.com", -EINVAL, "top-level domain" },
        { "a.*.example.com", -EINVAL, "not a host name" },
        { "*example.com", -EINVAL, "not a host name" },
        { "10.0.0.1", -EADDRNOTAVAIL, "IP literals" },
        { "10.0.0.1:80", -EADDRNOTAVAIL, "IP literals" },
        { "2130706433", -EADDRNOTAVAIL, "IP literals" },
        { "0x7f000001", -EADDRNOTAVAIL, "IP literals" },
        { "[::1]:443", -EADDRNOTAVAIL, "IP literals" },
        { "::1", -EADDRNOTAVAIL, "IP literals" },
        { "fe80::1", -EADDRNOTAVAIL, "IP literals" },
        { "api.example.com:0", -ERANGE, "1 to 65535" },
        { "api.example.com:65536", -ERANGE, "1 to 65535" },
        { "api.example.com:", -ERANGE, "1 to 65535" },
        { "api.example.com:https", -ERANGE, "1 to 65535" },
        { "api.example.com.", -EINVAL, "not a host name" },
        { ".example.com", -EINVAL, "not a host name" },
        { "-a.example.com", -EINVAL, "not a host name" },
        { "a-.example.com", -EINVAL, "not a host name" },
        { "a..example.com", -EINVAL, "not a host name" },
        { "a_b.example.com", -EINVAL, "not a host name" },
        { "http://a.example.com", -ERANGE, "1 to 65535" },
        { "a.example.com/path", -EINVAL, "not a host name" },
        { "", -EINVAL, "empty" },
        { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com", -EINVAL, "not a host name" },
};

static void test_patterns(void) {
        for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
                EgressPattern p;
                char why[256] = "", buf[300];
                int r = egress_pattern_parse(patterns[i].s, &p, why, sizeof why);

                CHECK_MSG(r == patterns[i].expect, "'%s' -> %d (expected %d) %s", patterns[i].s, r, patterns[i].expect, why);
                if (r == 0) {
                        egress_pattern_format(&p, buf, sizeof buf);
                        CHECK_MSG(strcmp(buf, patterns[i].canonical_or_why) == 0, "'%s' is %s", patterns[i].s, buf);
                } else
                        CHECK_MSG(strstr(why, patterns[i].canonical_or_why) != NULL, "'%s': '%s' says '%s'",
                                  patterns[i].s, why, patterns[i].canonical_or_why);
        }
}

static void test_judge(void) {
        EgressPolicy pol;
        char why[256] = "", rule[EGRESS_RULE_MAX];
        const char *text =
                "# test\n"
                "methods read-only\n"
                "allow api.example.com\n"
                "allow *.example.org:8080\n"
                "allow plain.example.net:80\n"
                "deny bad.example.org:8080\n";

        CHECK(egress_policy_parse_text(text, &pol, why, sizeof why) == 0);
        CHECK(pol.n_allow == 3 && pol.n_deny == 1 && pol.methods == EGRESS_METHODS_READ_ONLY);

        static const struct {
                const char *host;
                uint16_t port;
                const char *method;
                bool connect, allowed;
                const char *rule;
        } t[] = {
                { "api.example.com", 443, "CONNECT", true, true, "Allow=api.example.com:443" },
                { "API.example.com", 443, "CONNECT", true, true, "Allow=api.example.com:443" },
                { "api.example.com", 80, "GET", false, false, "Allow= (no pattern matches api.example.com:80)" },
                { "api.example.com", 444, "CONNECT", true, false, "Allow= (no pattern matches" },
                { "x.api.example.com", 443, "CONNECT", true, false, "Allow= (no pattern" },
                { "a.example.org", 8080, "GET", false, true, "Allow=*.example.org:8080" },
                { "b.a.example.org", 8080, "HEAD", false, true, "Allow=*.example.org:8080" },
                { "example.org", 8080, "GET", false, false, "Allow= (no pattern" }, /* not the apex */
                { "badexample.org", 8080, "GET", false, false, "Allow= (no pattern" },
                { "bad.example.org", 8080, "GET", false, false, "Deny=bad.example.org:8080" },
                { "bad.example.org", 8080, "CONNECT", true, false, "Deny=bad.example.org:8080" },
                { "plain.example.net", 80, "POST", false, false, "Methods=read-only" },
                { "plain.example.net", 80, "DELETE", false, false, "Methods=read-only" },
                { "plain.example.net", 80, "OPTIONS", false, true, "Allow=plain.example.net:80" },
                { "plain.example.net", 80, "get", false, false, "Methods=read-only" }, /* methods are case-sensitive */
                { "plain.example.net", 80, "CONNECT", true, true, "Allow=plain.example.net:80" },
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
                bool a = egress_policy_judge(&pol, t[i].host, t[i].port, t[i].method, t[i].connect, rule, sizeof rule);
                CHECK_MSG(a == t[i].allowed && strncmp(rule, t[i].rule, strlen(t[i].rule)) == 0,
                          "%s %s:%u -> %s by '%s' (expected %s by '%s')", t[i].method, t[i].host, (unsigned) t[i].port,
                          a ? "allowed" : "denied", rule, t[i].allowed ? "allowed" : "denied", t[i].rule);
        }

        /* Deny wins even when listed after Allow; all methods by default */
        CHECK(egress_policy_parse_text("allow *.example.com\ndeny x.example.com\n", &pol, why, sizeof why) == 0);
        CHECK(pol.methods == EGRESS_METHODS_ALL);
        CHECK(!egress_policy_judge(&pol, "x.example.com", 443, "CONNECT", true, rule, sizeof rule));
        CHECK_STREQ(rule, "Deny=x.example.com:443");
        CHECK(egress_policy_judge(&pol, "y.example.com", 443, "POST", false, rule, sizeof rule));
}

static void test_file(void) {
        EgressPolicy pol;
        char why[256] = "";

        CHECK(egress_policy_parse_text("allow 10.0.0.1\n", &pol, why, sizeof why) == -EADDRNOTAVAIL);
        CHECK(egress_policy_parse_text("allow *\n", &pol, why, sizeof why) == -EINVAL);
        CHECK(egress_policy_parse_text("permit a.example.com\n", &pol, why, sizeof why) == -EINVAL);
        CHECK(strstr(why, "line 1") != NULL);
        CHECK(egress_policy_parse_text("methods all\nmethods read-only\n", &pol, why, sizeof why) == -EINVAL);
        CHECK(egress_policy_parse_text("methods write\n", &pol, why, sizeof why) == -EINVAL);
        CHECK(egress_policy_parse_text("", &pol, why, sizeof why) == 0 && pol.n_allow == 0);

        char big[8192] = "";
        for (int i = 0; i <= EGRESS_PATTERNS_MAX; i++)
                snprintf(big + strlen(big), sizeof big - strlen(big), "allow h%d.example.com\n", i);
        CHECK(egress_policy_parse_text(big, &pol, why, sizeof why) == -E2BIG);

        char path[] = "/tmp/test-egress-policy-XXXXXX";
        int fd = mkstemp(path);
        CHECK(fd >= 0);
        CHECK(write(fd, "allow a.example.com:80\n", 23) == 23);
        close(fd);
        CHECK(egress_policy_load(path, &pol, why, sizeof why) == 0 && pol.n_allow == 1 && pol.allow[0].port == 80);
        fd = open(path, O_WRONLY | O_APPEND);
        CHECK(write(fd, "\0", 1) == 1);
        close(fd);
        CHECK(egress_policy_load(path, &pol, why, sizeof why) == -EINVAL);
        unlink(path);
        CHECK(egress_policy_load(path, &pol, why, sizeof why) == -ENOENT);
}

int main(void) {
        test_patterns();
        test_judge();
        test_file();
        return tap_finish();
}
