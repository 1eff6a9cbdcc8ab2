/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Table-driven tests of every value parser: each row is an input and the
 * outcome it must have. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "agent-limits.h"
#include "macro.h"
#include "parse-value.h"
#include "render.h"
#include "schema.h"
#include "tap.h"

static void test_timespan(void) {
        static const struct {
                const char *in;
                int r;
                uint64_t usec;
        } t[] = {
                { "90s", 0, 90 * USEC_PER_SEC },
                { "5min", 0, 5 * USEC_PER_MINUTE },
                { "2h", 0, 2 * USEC_PER_HOUR },
                { "1h 30min", 0, 90 * USEC_PER_MINUTE },
                { "1h30min", 0, 90 * USEC_PER_MINUTE },
                { "7d", 0, 7 * USEC_PER_DAY },
                { "1w", 0, 7 * USEC_PER_DAY },
                { "45", 0, 45 * USEC_PER_SEC },
                { "0", 0, 0 },
                { "500ms", 0, 500000 },
                { "", -EINVAL, 0 },
                { " ", -EINVAL, 0 },
                { "infinity", -EINVAL, 0 },
                { "-5s", -EINVAL, 0 },
                { "5 fortnights", -EINVAL, 0 },
                { "1.5h", -EINVAL, 0 },
                { "05s", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "5s!", -EINVAL, 0 },
                { "99999999999999999999s", -ERANGE, 0 },
                { "18446744073709551615w", -ERANGE, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t u = 12345;
                int r = parse_timespan(t[i].in, &u);
                CHECK_MSG(r == t[i].r && (r < 0 ? u == 12345 : u == t[i].usec),
                          "parse_timespan(\"%s\") = %d, %ju", t[i].in, r, (uintmax_t) u);
        }
}

static void test_size(void) {
        static const struct {
                const char *in;
                int r;
                uint64_t v;
        } t[] = {
                { "512M", 0, 512ULL << 20 },
                { "2G", 0, 2ULL << 30 },
                { "1T", 0, 1ULL << 40 },
                { "4096", 0, 4096 },
                { "16K", 0, 16384 },
                { "", -EINVAL, 0 },
                { "M", -EINVAL, 0 },
                { "1.5G", -EINVAL, 0 },
                { "-1M", -EINVAL, 0 },
                { "1m", -EINVAL, 0 },
                { "1MB", -EINVAL, 0 },
                { " 1M", -EINVAL, 0 },
                { "1M ", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "99999999999T", -ERANGE, 0 },
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                uint64_t v = 7;
                int r = parse_size(t[i].in, &v);
                CHECK_MSG(r == t[i].r && (r < 0 ? v == 7 : v == t[i].v), "parse_size(\"%s\") = %d, %ju", t[i].in, r,
                          (uintmax_t) v);
        }
}

static void test_uint_bool_percent(void) {
        uint64_t v;
        bool b;

        CHECK(parse_uint64_range("1", 1, 10, &v) == 0 && v == 1);
        CHECK(parse_uint64_range("10", 1, 10, &v) == 0 && v == 10);
        CHECK(parse_uint64_range("11", 1, 10, &v) == -ERANGE);
        CHECK(parse_uint64_range("0", 1, 10, &v) == -ERANGE);
        CHECK(parse_uint64_range("+1", 1, 10, &v) == -EINVAL);
        CHECK(parse_uint64_range("01", 1, 10, &v) == -EINVAL);
        CHECK(parse_uint64_range("1 ", 1, 10, &v) == -EINVAL);
        CHECK(parse_uint64_range("18446744073709551616", 0, UINT64_MAX, &v) == -ERANGE);
        CHECK(parse_boolean("yes", &b) == 0 && b);
        CHECK(parse_boolean("Off", &b) == 0 && !b);
        CHECK(parse_boolean("2", &b) == -EINVAL);
        CHECK(parse_boolean("", &b) == -EINVAL);
        CHECK(parse_percent("150%", &v) == 0 && v == 150);
        CHECK(parse_percent("150", &v) == -EINVAL);
        CHECK(parse_percent("%", &v) == -EINVAL);
        CHECK(parse_percent("1.5%", &v) == -EINVAL);
}

static void test_names_paths(void) {
        CHECK(agent_name_is_valid("a"));
        CHECK(agent_name_is_valid("web-1"));
        CHECK(agent_name_is_valid("0abc"));
        CHECK(!agent_name_is_valid(""));
        CHECK(!agent_name_is_valid("-a"));
        CHECK(!agent_name_is_valid("a-"));
        CHECK(!agent_name_is_valid("A"));
        CHECK(!agent_name_is_valid("a_b"));
        CHECK(!agent_name_is_valid("a.b"));
        CHECK(agent_name_is_valid("a23456789012345678901234567890123456789012345678901234567890123"));
        CHECK(!agent_name_is_valid("a234567890123456789012345678901234567890123456789012345678901234"));
        CHECK(secret_name_is_valid("db.password"));
        CHECK(secret_name_is_valid("a_b-c"));
        CHECK(!secret_name_is_valid(".hidden"));
        CHECK(!secret_name_is_valid("A"));
        CHECK(!secret_name_is_valid("a/b"));
        CHECK(env_name_is_valid("PATH"));
        CHECK(env_name_is_valid("_x1"));
        CHECK(!env_name_is_valid("1X"));
        CHECK(!env_name_is_valid("A-B"));
        CHECK(!env_name_is_valid(""));
        CHECK(path_is_normalized_absolute("/"));
        CHECK(path_is_normalized_absolute("/usr/bin/x"));
        CHECK(!path_is_normalized_absolute("usr"));
        CHECK(!path_is_normalized_absolute("/usr/"));
        CHECK(!path_is_normalized_absolute("/usr//bin"));
        CHECK(!path_is_normalized_absolute("/usr/./bin"));
        CHECK(!path_is_normalized_absolute("/usr/../bin"));
        CHECK(!path_is_normalized_absolute("/usr/bin\n"));
        CHECK(path_is_normalized_absolute("/usr/..bin/.x"));
        CHECK(string_is_printable_utf8("Grüße ✓", false));
        CHECK(!string_is_printable_utf8("\xc0\xaf", false));     /* overlong '/' */
        CHECK(!string_is_printable_utf8("\xed\xa0\x80", false)); /* surrogate */
        CHECK(!string_is_printable_utf8("\xc2\x85", false));     /* C1 control */
        CHECK(!string_is_printable_utf8("a\tb", false));
        CHECK(string_is_printable_utf8("a\tb", true));
        CHECK(!string_is_printable_utf8("\xe2\x9c", false));     /* truncated */
}

static void check_split(const char *in, int want_r, const char *const *want) {
        char **v = NULL;
        size_t n = 0;
        int r = split_words(in, 8, &v, &n);
        bool same = r == want_r;

        if (same && r == 0) {
                size_t k = 0;
                while (want[k])
                        k++;
                same = n == k;
                for (size_t i = 0; same && i < k; i++)
                        same = strcmp(v[i], want[i]) == 0;
        }
        CHECK_MSG(same, "split_words(\"%s\") = %d (%zu words)", in, r, n);
        strv_free(v);
}

static void test_split(void) {
        check_split("/bin/a b c", 0, (const char *const[]) { "/bin/a", "b", "c", NULL });
        check_split("  /bin/a   'b c'  \"d e\" ", 0, (const char *const[]) { "/bin/a", "b c", "d e", NULL });
        check_split("a\\ b", 0, (const char *const[]) { "a b", NULL });
        check_split("\"a\\\"b\"", 0, (const char *const[]) { "a\"b", NULL });
        check_split("'a\\b'", 0, (const char *const[]) { "a\\b", NULL });
        check_split("x\\x41y", 0, (const char *const[]) { "xAy", NULL });
        check_split("a''b", 0, (const char *const[]) { "ab", NULL });
        check_split("''", 0, (const char *const[]) { "", NULL });
        check_split("", -EINVAL, NULL);
        check_split("   ", -EINVAL, NULL);
        check_split("\"open", -EINVAL, NULL);
        check_split("'open", -EINVAL, NULL);
        check_split("trail\\", -EINVAL, NULL);
        check_split("bad\\q", -EINVAL, NULL);
        check_split("nul\\x00", -EINVAL, NULL);
        check_split("hex\\xZZ", -EINVAL, NULL);
        check_split("1 2 3 4 5 6 7 8 9", -E2BIG, NULL);
}

static void check_exec_word(const char *in, const char *want) {
        Buffer b = {};
        render_exec_word(&b, in);
        /* The input may hold a line break: the message names the output only. */
        CHECK_MSG(buffer_status(&b) == 0 && strcmp(b.data, want) == 0, "exec word -> <%s> (want <%s>)",
                  b.data ? b.data : "", want);
        buffer_done(&b);
}

static void test_escaping(void) {
        Buffer b = {};

        check_exec_word("/usr/bin/x", "/usr/bin/x");
        check_exec_word("--flag=a,b", "--flag=a,b");
        check_exec_word("two words", "\"two words\"");
        check_exec_word("100%", "\"100%%\"");
        check_exec_word("$HOME", "\"$$HOME\"");
        check_exec_word("${X}", "\"$${X}\"");
        check_exec_word("a\"b", "\"a\\\"b\"");
        check_exec_word("a\\b", "\"a\\\\b\"");
        check_exec_word(";", "\";\"");
        check_exec_word("", "\"\"");
        check_exec_word("line\nbreak", "\"line\\nbreak\"");
        check_exec_word("esc\x1b", "\"esc\\x1b\"");
        check_exec_word("%n", "\"%%n\"");

        CHECK(render_unit_value(&b, "50% %i %%") == 0);
        CHECK_STREQ(b.data, "50%% %%i %%%%");
        buffer_reset(&b);

        /* Nothing that could end the line or continue it reaches a setting. */
        CHECK(render_unit_value(&b, "a\n[Service]\nExecStartPre=+sh") == -EINVAL);
        CHECK(render_unit_value(&b, "tab\there") == -EINVAL);
        CHECK(render_unit_value(&b, "cont\\") == -EINVAL);
        CHECK(render_unit_value(&b, "caf\xe9") == -EINVAL);
        CHECK(b.len == 0);

        /* A comment shows every such byte as \xNN and stays on its line. */
        render_comment_text(&b, "x\n[Service]\nExecStartPre=+sh -c id\n#.conf");
        CHECK_STREQ(b.data, "x\\x0a[Service]\\x0aExecStartPre=+sh -c id\\x0a#.conf");
        buffer_reset(&b);
        render_comment_text(&b, "caf\xe9 \\ caf\xc3\xa9");
        CHECK_STREQ(b.data, "caf\\xe9 \\x5c caf\xc3\xa9");
        buffer_done(&b);
}

static void test_secret_sources(void) {
        static const struct {
                const char *agent, *source;
                int r;
                const char *rule; /* a substring of the rule that fired */
        } t[] = {
                { "web", "/etc/agents/secrets/token", 0, NULL },
                { "web", "/etc/agents/secrets/web/token", 0, NULL },
                { "web", "cred:web", 0, NULL },
                { "web", "cred:web.token", 0, NULL },
                { "web", "cred:web.a.b", 0, NULL },
                { "web", "/etc/shadow", -EPERM, "only from below the secrets directory" },
                { "web", "/etc/agents/secrets", -EPERM, "only from below the secrets directory" },
                { "web", "/etc/agents/secretsx/t", -EPERM, "only from below the secrets directory" },
                { "web", "/tmp/x", -EPERM, "only from below the secrets directory" },
                { "web", "/etc/agents/secrets/../shadow", -EINVAL, "normalised absolute path" },
                { "web", "/etc/agents/secrets//t", -EINVAL, "normalised absolute path" },
                { "web", "/etc/agents/secrets/t\n", -EINVAL, "normalised absolute path" },
                { "web", "token", -EINVAL, "below the secrets directory or cred:ID" },
                { "web", "", -EINVAL, "below the secrets directory or cred:ID" },
                { "web", "cred:", -EINVAL, "credential ID" },
                { "web", "cred:../x", -EINVAL, "credential ID" },
                { "web", "cred:web/x", -EINVAL, "credential ID" },
                { "web", "cred:db", -EACCES, "only its own credentials" },
                { "web", "cred:webx", -EACCES, "only its own credentials" },
                { "web", "cred:web.", -EACCES, "only its own credentials" },
                { "web", "cred:we", -EACCES, "only its own credentials" },
                { "web", "cred:api.web", -EACCES, "only its own credentials" },
        };

        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *rule = NULL;
                int r = secret_source_check(t[i].agent, t[i].source, &rule);

                /* Row numbers, not the sources: some hold a line break. */
                CHECK_MSG(r == t[i].r, "secret source row %zu: %d, want %d", i, r, t[i].r);
                if (t[i].rule)
                        CHECK_MSG(rule && strstr(rule, t[i].rule), "secret source row %zu: the rule names \"%s\"", i,
                                  t[i].rule);
                else
                        CHECK_MSG(!rule, "secret source row %zu: no rule", i);
        }

        CHECK(credential_id_is_valid("db.password"));
        CHECK(credential_id_is_valid("A-1_b"));
        CHECK(!credential_id_is_valid(""));
        CHECK(!credential_id_is_valid(".x"));
        CHECK(!credential_id_is_valid("-x"));
        CHECK(!credential_id_is_valid("a/b"));
        char id[CREDENTIAL_ID_MAX + 2];
        memset(id, 'a', sizeof id - 1);
        id[CREDENTIAL_ID_MAX] = '\0';
        CHECK(credential_id_is_valid(id));
        id[CREDENTIAL_ID_MAX] = 'a';
        id[CREDENTIAL_ID_MAX + 1] = '\0';
        CHECK(!credential_id_is_valid(id));
        CHECK(image_name_is_valid("debian-12.img"));
        CHECK(!image_name_is_valid(".."));
        CHECK(!image_name_is_valid("-o"));
        CHECK(!image_name_is_valid("a/b"));
        CHECK(!image_name_is_valid("a b"));
        CHECK(credential_is_own("web", "web"));
        CHECK(credential_is_own("web", "web.x"));
        CHECK(!credential_is_own("web", "webx"));
        CHECK(!credential_is_own("web", "web."));
        CHECK(utf8_printable_char_len("\xc3\xa9", false) == 2);
        CHECK(utf8_printable_char_len("\xe9", false) == 0);
        CHECK(utf8_printable_char_len("\t", false) == 0);
        CHECK(utf8_printable_char_len("\t", true) == 1);
        CHECK(utf8_printable_char_len("", true) == 0);
}

/* A whole unit: every operator string either escaped or the unit refused. */
static void test_strjoin(void) {
        char buf[8];

        CHECK(STRJOIN_BUF(buf, sizeof buf, "ab", "/", "cd") == 5);
        CHECK_STREQ(buf, "ab/cd");
        CHECK(STRJOIN_BUF(buf, sizeof buf, "abcd", "efg") == 7); /* 7 bytes and the NUL fit */
        CHECK(STRJOIN_BUF(buf, sizeof buf, "abcd", "efgh") == -ENAMETOOLONG);
        CHECK(STRJOIN_BUF(buf, sizeof buf, "abcdefghij") == -ENAMETOOLONG);
        CHECK(STRJOIN_BUF(buf, sizeof buf, "") == 0);

        /* The word vector is sized by the input: the densest input fills it. */
        char **v = NULL;
        size_t n = 0;
        CHECK(split_words("a b c d e", 256, &v, &n) == 0 && n == 5);
        strv_free(v);
        CHECK(split_words("\"\" \"\" ''", 256, &v, &n) == 0 && n == 3);
        strv_free(v);
        CHECK(split_words("a b c", 2, &v, &n) == -E2BIG);
}

static void test_render_unit(void) {
        char *dropins[] = { (char *) "/etc/agents/web.agent.d/x\n[Service]\nExecStartPre=+sh\n#.conf", NULL };
        char *exec[] = { (char *) "/usr/bin/demo", NULL };
        Agent a = {
                .name = (char *) "web",
                .source_path = (char *) "/etc/agents/web.agent",
                .dropin_paths = dropins,
                .image = (char *) "demo",
                .exec = exec,
                .description = (char *) "Agent web",
        };
        Buffer b = {};

        CHECK(schema_apply_defaults(&a) == 0);
        CHECK(render_unit(&a, &b) == 0);
        CHECK(b.data && strstr(b.data, "#   drop-in:    /etc/agents/web.agent.d/x\\x0a[Service]\\x0aExecStartPre=+sh\\x0a#.conf\n"));
        CHECK(b.data && !strstr(b.data, "\nExecStartPre="));

        buffer_reset(&b);
        a.source_path = (char *) "/etc/agents/web\n[Service]\nExecStartPre=+sh";
        CHECK(render_unit(&a, &b) == -EINVAL);
        a.source_path = (char *) "/etc/agents/web.agent";
        a.description = (char *) "two\nlines";
        CHECK(render_unit(&a, &b) == -EINVAL);
        a.description = (char *) "Agent web";
        a.name = (char *) "Web";
        CHECK(render_unit(&a, &b) == -EINVAL);
        buffer_done(&b);
        free(a.working_directory);
}

static void test_schema(void) {
        Agent a = {};

        /* Every default must parse with its own parser. */
        CHECK(schema_apply_defaults(&a) == 0);
        CHECK(a.user == 65534);
        CHECK(a.runtime_max_usec == USEC_PER_HOUR);
        CHECK(a.memory_max == 512ULL << 20);
        CHECK(a.workspace_size == 500ULL << 20);
        CHECK(a.tmp_size == 100ULL << 20);
        CHECK(a.tasks_max == 256);
        CHECK(a.max_restarts == 5);
        CHECK(a.restart == RESTART_ON_FAILURE);
        CHECK(a.network == NETWORK_NONE);
        CHECK_STREQ(a.working_directory, "/workspace");
        free(a.working_directory);

        bool known;
        CHECK(schema_find("agent", "IMAGE", &known) != NULL && known);
        CHECK(schema_find("Agent", "Nope", &known) == NULL && known);
        CHECK(schema_find("Nope", "Image", &known) == NULL && !known);
        CHECK(schema_find("Secrets", "anything", &known) != NULL);

        /* Every row documents itself. */
        for (size_t i = 0; i < schema_n_keys; i++)
                CHECK_MSG(schema_keys[i].allowed && schema_keys[i].doc && schema_keys[i].section,
                          "schema row %s documented", schema_keys[i].key);
}

int main(void) {
        test_timespan();
        test_size();
        test_uint_bool_percent();
        test_names_paths();
        test_split();
        test_escaping();
        test_secret_sources();
        test_strjoin();
        test_render_unit();
        test_schema();
        return tap_finish();
}
