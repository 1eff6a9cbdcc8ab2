/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one option table of agent-runtime (start, configure, recycle), the
 * name and path checks behind it, and the nspawn command line built from
 * the parsed configuration: every value is refused unless it is exactly what
 * the generator would have written. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "parse-value.h"
#include "log.h"
#include "runtime.h"
#include "tap.h"

/* Parses "configure" + the given options; returns runtime_config_parse_argv()'s
 * result and frees what it parsed unless ret is given. */
static int parse(RuntimeConfig *ret, ...) {
        char *argv[64] = { (char *) "configure" };
        int argc = 1, r;
        RuntimeConfig a = {};
        va_list ap;
        const char *s;

        va_start(ap, ret);
        while ((s = va_arg(ap, const char *)) && argc < 63)
                argv[argc++] = (char *) s;
        va_end(ap);
        argv[argc] = NULL;

        r = runtime_config_parse_argv(RUNTIME_VERB_CONFIGURE, argc, argv, &a);
        if (ret)
                *ret = a;
        else
                runtime_config_done(&a);
        return r;
}

#define OK_BASE "--name=demo", "--uid=65534", "--workspace-size=67108864"

static void test_valid(void) {
        RuntimeConfig a = {};
        int r;

        r = parse(&a, OK_BASE, NULL);
        CHECK(r == 1);
        CHECK_STREQ(a.name, "demo");
        CHECK(a.uid == 65534);
        CHECK(a.workspace_size == 67108864ULL);
        CHECK(a.n_syscalls == 0 && a.n_secrets == 0 && !a.shared_state);
        runtime_config_done(&a);

        r = parse(&a, "--name=a-b-c1", "--uid=1000", "--workspace-size=8388608",
                  "--syscalls=ptrace,io_uring_setup,open_by_handle_at",
                  "--secret=api-key=/etc/agents/secrets/key", "--secret=token=cred:tok.1",
                  "--shared-state=/var/lib/agents/demo/state", NULL);
        CHECK(r == 1);
        CHECK(a.n_syscalls == 3);
        if (a.n_syscalls == 3) {
                CHECK_STREQ(a.syscalls[0], "ptrace");
                CHECK_STREQ(a.syscalls[2], "open_by_handle_at");
        }
        CHECK(a.n_secrets == 2);
        if (a.n_secrets == 2) {
                CHECK_STREQ(a.secrets[0].name, "api-key");
                CHECK_STREQ(a.secrets[0].source, "/etc/agents/secrets/key");
                CHECK_STREQ(a.secrets[1].name, "token");
                CHECK_STREQ(a.secrets[1].source, "cred:tok.1");
        }
        CHECK_STREQ(a.shared_state, "/var/lib/agents/demo/state");
        runtime_config_done(&a);

        /* "--opt value" form works too, getopt_long's normal behaviour */
        CHECK(parse(NULL, "--name", "demo", "--uid", "1", "--workspace-size", "8388608", NULL) == 1);
        {
                /* --help prints to stdout, which is the TAP stream here */
                int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                fflush(stdout);
                dup2(null, STDOUT_FILENO);
                r = parse(NULL, "--help", NULL);
                fflush(stdout);
                dup2(saved, STDOUT_FILENO);
                close(saved);
                close(null);
                CHECK(r == 0);
        }
}

static void test_required_and_duplicates(void) {
        CHECK(parse(NULL, NULL) < 0);
        CHECK(parse(NULL, "--uid=1", "--workspace-size=8388608", NULL) < 0);
        CHECK(parse(NULL, "--name=demo", "--workspace-size=8388608", NULL) < 0);
        CHECK(parse(NULL, "--name=demo", "--uid=1", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--name=other", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--uid=2", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--workspace-size=8388608", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--syscalls=ptrace", "--syscalls=bpf", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--shared-state=/var/lib/agents/a", "--shared-state=/var/lib/agents/b", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--secret=a=/x", "--secret=a=/y", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--frobnicate", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "extra", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--name", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "-x", NULL) < 0);
        CHECK(parse(NULL, OK_BASE, "--help=1", NULL) < 0);
}

static void test_names(void) {
        static const char *bad[] = {
                "", ".", "..", ".hidden", "-opt", "a/b", "a b", "a\tb", "a%i", "a:b", "ä",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
        };
        char opt[128];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                CHECK_MSG(!agent_name_is_valid(bad[i]), "agent name '%s' refused", bad[i]);
                snprintf(opt, sizeof opt, "--name=%s", bad[i]);
                CHECK_MSG(parse(NULL, opt, "--uid=1", "--workspace-size=8388608", NULL) < 0, "%s refused", opt);
        }
        /* The definition rules (parse-value.h): 63 characters at most, lower case. */
        CHECK(agent_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 63 */
        CHECK(!agent_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 64 */
        CHECK(!agent_name_is_valid("Agent-1_x.y"));
        CHECK(!secret_name_is_valid("..") && !secret_name_is_valid("a/b") && !secret_name_is_valid("API_KEY") &&
              secret_name_is_valid("api_key.v2"));
        CHECK(!credential_id_is_valid("") && !credential_id_is_valid("../x") && credential_id_is_valid("db.password"));
}

static void test_numbers(void) {
        static const char *bad_uid[] = { "0", "65535", "65536", "-1", "+5", "012", "1x", " 1", "", "0x10",
                                         "99999999999999999999999", "4294967297" };
        static const char *bad_size[] = {
                "0", "4096", "1044480", "8388607", "8388609", "8392703", /* < 1 MiB or not 4 KiB aligned */
                "1099511631872",                            /* 1 TiB + 4 KiB */
                "18446744073709551616",                     /* overflows 64 bits */
                "-8388608", "+8388608", "08388608", "8M", "0x800000", "8388608 ", "", "1e9",
        };
        char opt[128];

        for (size_t i = 0; i < ELEMENTSOF(bad_uid); i++) {
                snprintf(opt, sizeof opt, "--uid=%s", bad_uid[i]);
                CHECK_MSG(parse(NULL, "--name=demo", opt, "--workspace-size=8388608", NULL) < 0, "%s refused", opt);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_size); i++) {
                snprintf(opt, sizeof opt, "--workspace-size=%s", bad_size[i]);
                CHECK_MSG(parse(NULL, "--name=demo", "--uid=1", opt, NULL) < 0, "%s refused", opt);
        }
        /* The schema's maximum is the runtime's: 64G is taken, one sector more is not. */
        CHECK(parse(NULL, "--name=demo", "--uid=1", "--workspace-size=68719476736", NULL) == 1);
        CHECK(parse(NULL, "--name=demo", "--uid=1", "--workspace-size=68719480832", NULL) < 0);
        CHECK(parse(NULL, "--name=demo", "--uid=1", "--workspace-size=1048576", NULL) == 1);
        for (size_t i = 0; i < ELEMENTSOF(bad_size); i++) {
                snprintf(opt, sizeof opt, "--tmp-size=%s", bad_size[i]);
                CHECK_MSG(parse(NULL, OK_BASE, opt, NULL) < 0, "%s refused", opt);
        }
        {
                RuntimeConfig a = {};
                CHECK(parse(&a, OK_BASE, NULL) == 1 && a.tmp_size == 0);
                runtime_config_done(&a);
                CHECK(parse(&a, OK_BASE, "--tmp-size=104857600", NULL) == 1 && a.tmp_size == 104857600ULL);
                runtime_config_done(&a);
                CHECK(parse(NULL, OK_BASE, "--tmp-size=1048576", "--tmp-size=1048576", NULL) < 0);
        }
        CHECK(parse(NULL, "--name=demo", "--uid=1", "--workspace-size=8388608", NULL) == 1);
}

static void test_syscalls(void) {
        static const char *bad[] = { "", ",", ",ptrace", "ptrace,", "ptrace,,bpf", "Ptrace", "pt race",
                                     "ptrace;bpf", "ptrace,ptrace", "../x" };
        char opt[128];
        _cleanup_free_ char *many = NULL;
        size_t len = 0;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                snprintf(opt, sizeof opt, "--syscalls=%s", bad[i]);
                CHECK_MSG(parse(NULL, OK_BASE, opt, NULL) < 0, "%s refused", opt);
        }

        /* 129 distinct names: one too many */
        many = malloc(16 * 130 + 16);
        if (!many)
                abort();
        len = (size_t) sprintf(many, "--syscalls=");
        for (int i = 0; i < EXTRA_SYSCALLS_MAX + 1; i++)
                len += (size_t) sprintf(many + len, "%ss%d", i ? "," : "", i);
        CHECK(parse(NULL, OK_BASE, many, NULL) < 0);
}

static void test_secrets_and_shared_state(void) {
        static const char *bad_secret[] = {
                "noequals", "=/x", "a=", "a=relative/path", "a=cred:", "a=cred:../x", "a=cred:a/b",
                ".a=/x", "-a=/x", "a/b=/x", "..=/x", "a b=/x",
        };
        static const char *bad_shared[] = {
                "/var/lib/agents", "/var/lib/agents/", "/var/lib/agents/x/", "/var/lib/agents/x/../y",
                "/var/lib/agents/./x", "/var/lib/agents//x", "/var/lib/agentsx/y", "/etc", "var/lib/agents/x", "",
                "/var/lib/agents/images", "/var/lib/agents/images/x", "/var/lib/agents/a:b", "/var/lib/agents/a,b",
                "/var/lib/machines/x",
        };
        char opt[128];

        for (size_t i = 0; i < ELEMENTSOF(bad_secret); i++) {
                snprintf(opt, sizeof opt, "--secret=%s", bad_secret[i]);
                CHECK_MSG(parse(NULL, OK_BASE, opt, NULL) < 0, "%s refused", opt);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad_shared); i++) {
                snprintf(opt, sizeof opt, "--shared-state=%s", bad_shared[i]);
                CHECK_MSG(parse(NULL, OK_BASE, opt, NULL) < 0, "%s refused", opt);
        }
        /* SOURCE may itself contain '=': only the first one splits */
        {
                RuntimeConfig a = {};
                CHECK(parse(&a, OK_BASE, "--secret=k=/etc/a=b", NULL) == 1);
                CHECK(a.n_secrets == 1 && streq(a.secrets[0].source, "/etc/a=b"));
                runtime_config_done(&a);
        }
        /* 65 secrets: one too many */
        {
                char *argv[80] = { (char *) "configure", (char *) "--name=demo", (char *) "--uid=1",
                                   (char *) "--workspace-size=8388608" };
                char bufs[SECRETS_MAX + 1][32];
                RuntimeConfig a = {};
                int argc = 4;

                for (int i = 0; i < SECRETS_MAX + 1; i++) {
                        snprintf(bufs[i], sizeof bufs[i], "--secret=s%d=/x", i);
                        argv[argc++] = bufs[i];
                }
                argv[argc] = NULL;
                CHECK(runtime_config_parse_argv(RUNTIME_VERB_CONFIGURE, argc, argv, &a) < 0);
                runtime_config_done(&a);
                argc--;
                argv[argc] = NULL;
                CHECK(runtime_config_parse_argv(RUNTIME_VERB_CONFIGURE, argc, argv, &a) == 1);
                runtime_config_done(&a);
        }
}

static void test_shared_state_check(void) {
        char tmp[] = "/tmp/test-configure-XXXXXX";
        char p[256], q[256];

        if (!mkdtemp(tmp))
                abort();
        snprintf(p, sizeof p, "%s/dir", tmp);
        CHECK(shared_state_check(p) == -ENOENT);
        CHECK(mkdir(p, 0700) == 0);
        CHECK_MSG(shared_state_check(p) == -EPERM, "a real directory outside /var/lib/agents/ is refused");
        snprintf(q, sizeof q, "%s/link", tmp);
        CHECK(symlink(p, q) == 0);
        CHECK(shared_state_check(q) == -ELOOP);
        snprintf(q, sizeof q, "%s/link/sub", tmp);
        snprintf(p, sizeof p, "%s/dir/sub", tmp);
        CHECK(mkdir(p, 0700) == 0);
        CHECK_MSG(shared_state_check(q) == -ELOOP, "a symlink on the way is refused");
        snprintf(p, sizeof p, "%s/file", tmp);
        CHECK(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
        CHECK(shared_state_check(p) == -ENOTDIR);

        snprintf(p, sizeof p, "rm -rf -- '%s'", tmp);
        CHECK(system(p) == 0);
}

static void test_recycle_argv(void) {
        char *a1[] = { (char *) "recycle", NULL };
        char *a2[] = { (char *) "recycle", (char *) "--name=a/b", NULL };
        char *a3[] = { (char *) "recycle", (char *) "--name=a", (char *) "--name=b", NULL };
        char *a4[] = { (char *) "recycle", (char *) "--name=a", (char *) "extra", NULL };
        char *a5[] = { (char *) "recycle", (char *) "--force", NULL };

        CHECK(verb_recycle(1, a1) < 0);
        CHECK(verb_recycle(2, a2) < 0);
        CHECK(verb_recycle(3, a3) < 0);
        CHECK(verb_recycle(3, a4) < 0);
        CHECK(verb_recycle(2, a5) < 0);
}

#define START_BASE "start", "--name=demo", "--image=demo", "--uid=65534", "--workspace-size=67108864"

static int parse_start(RuntimeConfig *ret, char **argv) {
        int argc = 0, r;
        RuntimeConfig a = {};

        while (argv[argc])
                argc++;
        r = runtime_config_parse_argv(RUNTIME_VERB_START, argc, argv, &a);
        if (ret)
                *ret = a;
        else
                runtime_config_done(&a);
        return r;
}

static void test_start_argv(void) {
        RuntimeConfig a = {};

        CHECK(parse_start(NULL, (char *[]) { START_BASE, NULL }) == -EINVAL);
        CHECK_MSG(parse_start(NULL, (char *[]) { START_BASE, (char *) "--", NULL }) == -EINVAL,
                  "start without the agent's command line is refused");
        CHECK_MSG(parse_start(NULL, (char *[]) { START_BASE, (char *) "--", (char *) "bin/x", NULL }) == -EINVAL,
                  "a relative EXEC is refused");
        CHECK_MSG(parse_start(NULL, (char *[]) { START_BASE, (char *) "/bin/x", NULL }) == -EINVAL,
                  "EXEC without -- is refused");
        CHECK_MSG(parse_start(NULL, (char *[]) { (char *) "start", (char *) "--name=demo", (char *) "--uid=1",
                                                 (char *) "--workspace-size=8388608", (char *) "--", (char *) "/x", NULL }) == -EINVAL,
                  "start needs --image=");
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--network=host", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--keep-caps=CAP_SYS_ADMIN", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--setenv=A", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--setenv=1A=b", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--working-directory=rel", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--apparmor=off", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--orphan-timeout-usec=1", (char *) "--orphan-timeout-usec=2",
                                             (char *) "--", (char *) "/x", NULL }) == -EINVAL);
        CHECK_MSG(parse_start(NULL, (char *[]) { START_BASE, (char *) "--health-check=/bin/true", (char *) "--", (char *) "/x", NULL }) == -EINVAL,
                  "a health check needs its interval and retries");

        CHECK(parse_start(&a, (char *[]) { START_BASE, (char *) "--setenv=A=b c", (char *) "--setenv=B=", (char *) "--notify",
                                           (char *) "--orphan-timeout-usec=300000000", (char *) "--apparmor=optional",
                                           (char *) "--", (char *) "/bin/agent", (char *) "--flag", (char *) "--", NULL }) == 1);
        CHECK_STREQ(a.working_directory, "/workspace");
        CHECK(a.exec && strv_length(a.exec) == 3 && streq(a.exec[1], "--flag") && streq(a.exec[2], "--"));
        CHECK(a.environment && strv_length(a.environment) == 2 && streq(a.environment[0], "A=b c"));
        CHECK(a.notify && a.orphan_timeout_usec == 300000000 && a.apparmor == APPARMOR_OPTIONAL);
        CHECK(a.network == RUNTIME_NETWORK_NONE && !a.keep_net_bind_service);
        runtime_config_done(&a);
}

static bool has_word(char **v, const char *w) {
        for (; v && *v; v++)
                if (streq(*v, w))
                        return true;
        return false;
}

static ssize_t word_index(char **v, const char *w) {
        for (ssize_t i = 0; v && v[i]; i++)
                if (streq(v[i], w))
                        return i;
        return -1;
}

static void test_nspawn_argv(void) {
        _cleanup_strv_free_ char **v = NULL, **w = NULL;
        RuntimeConfig a = {};

        CHECK(unsetenv("AGENTCAGE_RUNTIME_DIR") == 0);
        CHECK(parse_start(&a, (char *[]) { START_BASE, (char *) "--network=private", (char *) "--keep-caps=CAP_NET_BIND_SERVICE",
                                           (char *) "--shared-state=/var/lib/agents/demo", (char *) "--setenv=MODE=fast",
                                           (char *) "--working-directory=/workspace/run", (char *) "--watchdog-usec=5000000",
                                           (char *) "--health-check=/bin/check", (char *) "--health-check=a b",
                                           (char *) "--health-interval-usec=1000000", (char *) "--health-retries=3",
                                           (char *) "--", (char *) "/bin/agent", (char *) "x", NULL }) == 1);
        CHECK(runtime_nspawn_argv(&a, 0x00120000, &v) == 0);
        CHECK(v && v[0][0] == '/');
        CHECK_MSG(has_word(v, "--private-users=1179648:65536"), "the leased range is on nspawn's command line");
        CHECK(!has_word(v, "--private-users=ALLOCATED"));
        CHECK(has_word(v, "--machine=demo") && has_word(v, "--directory=/run/agentcage/demo/root"));
        CHECK(has_word(v, "--network-veth") && !has_word(v, "--private-network"));
        CHECK(has_word(v, "--bind=/var/lib/agents/demo:/shared"));
        CHECK(has_word(v, "--bind-ro=/run/agentcage/demo/seccomp.bpf:/run/agentcage/seccomp.bpf"));
        CHECK(has_word(v, "--setenv=HOME=/workspace/run") && has_word(v, "--setenv=MODE=fast"));
        CHECK_MSG(word_index(v, "--setenv=HOME=/workspace/run") < word_index(v, "--setenv=MODE=fast"),
                  "the definition's environment comes after the defaults and wins");
        {
                ssize_t init = word_index(v, "/run/agentcage/init");
                CHECK(init > 0 && streq(v[init - 1], "--"));
                CHECK(word_index(v, "--uid=65534") > init && word_index(v, "--keep-caps=CAP_NET_BIND_SERVICE") > init);
                CHECK(word_index(v, "--chdir=/workspace/run") > init && word_index(v, "--watchdog-usec=5000000") > init);
                CHECK(word_index(v, "--health-check=a b") > word_index(v, "--health-check=/bin/check"));
                CHECK(has_word(v, "--require-userns"));
        }
        CHECK(streq(v[strv_length(v) - 2], "/bin/agent") && streq(v[strv_length(v) - 1], "x"));
        runtime_config_done(&a);

        CHECK(parse_start(&a, (char *[]) { START_BASE, (char *) "--", (char *) "/bin/agent", NULL }) == 1);
        CHECK(runtime_nspawn_argv(&a, 0x00080000, &w) == 0);
        CHECK(has_word(w, "--private-network") && !has_word(w, "--network-veth") && !has_word(w, "--notify-ready=yes"));
        CHECK(!has_word(w, "--keep-caps=CAP_NET_BIND_SERVICE"));
        for (char **p = w; *p; p++)
                if (strncmp(*p, "--drop-capability=", 18) == 0)
                        CHECK_MSG(strstr(*p, "CAP_NET_BIND_SERVICE") && strstr(*p, "CAP_SYS_ADMIN") && !strstr(*p, "CAP_SETUID,"),
                                  "drop list: everything but SETUID, SETGID and SETPCAP");
        CHECK_MSG(has_word(w, "--bind=/run/agentcage/demo/tmp:/dev/shm"), "/dev/shm is the noexec /tmp");
        CHECK(!has_word(w, "--memory-deny-write-execute=no") && !has_word(w, "--apparmor=optional"));
        runtime_config_done(&a);
        strv_free(w);
        w = NULL;

        /* [Egress]: nspawn stays in the unit's lo-only namespace, the agent is
         * told where the proxy is; a JIT agent's init knows W^X is off. */
        CHECK(parse_start(&a, (char *[]) { START_BASE, (char *) "--network=egress", (char *) "--memory-deny-write-execute=no",
                                           (char *) "--image-allow=/usr/bin/node", (char *) "--apparmor=optional",
                                           (char *) "--", (char *) "/usr/bin/node", NULL }) == 1);
        CHECK(a.network == RUNTIME_NETWORK_EGRESS && a.allow_write_execute && a.n_image_allow == 1);
        CHECK(runtime_nspawn_argv(&a, 0x00080000, &w) == 0);
        CHECK(!has_word(w, "--private-network") && !has_word(w, "--network-veth"));
        CHECK(has_word(w, "--setenv=HTTPS_PROXY=http://127.0.0.1:3128") && has_word(w, "--setenv=NO_PROXY=localhost,127.0.0.1"));
        CHECK(word_index(w, "--memory-deny-write-execute=no") > word_index(w, "/run/agentcage/init"));
        CHECK(word_index(w, "--apparmor=optional") > word_index(w, "/run/agentcage/init"));
        runtime_config_done(&a);

        CHECK_MSG(parse_start(NULL, (char *[]) { START_BASE, (char *) "--image-allow=/bin/sh", (char *) "--", (char *) "/x", NULL }) == -EPERM,
                  "a shell is never excepted, whatever the unit says");
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--image-allow=usr/bin/node", (char *) "--", (char *) "/x", NULL }) < 0);
        CHECK(parse_start(NULL, (char *[]) { START_BASE, (char *) "--memory-deny-write-execute=maybe", (char *) "--", (char *) "/x", NULL }) == -EINVAL);
}

int main(void) {
        /* The refusals log on purpose; keep the TAP stream readable. */
        log_set_max_level(LOG_CRIT);

        test_valid();
        test_required_and_duplicates();
        test_names();
        test_numbers();
        test_syscalls();
        test_secrets_and_shared_state();
        test_shared_state_check();
        test_recycle_argv();
        test_start_argv();
        test_nspawn_argv();
        return tap_finish();
}
