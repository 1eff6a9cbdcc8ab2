/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* agentctl export, the parts that need no definition on disk: every key of
 * the schema table is either carried by the Pod or listed as not expressed;
 * the YAML quoting escapes what YAML would misread (checked against a real
 * YAML parser, python3's); the shell quoting gives back every byte (checked
 * against /bin/sh). Hostile strings here include the control characters the
 * schema itself refuses, so the quoting does not lean on the schema.
 *
 *     test-export PYTHON3 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export.h"
#include "schema.h"
#include "tap.h"

static const char *const hostile[] = {
        "plain",
        "",
        "it's a \"test\"",
        "$(touch /tmp/pwned) `id` $HOME ${x}",
        "line1\nline2\n",
        "tab\there\r\n",
        "- x: y",
        "# not a comment",
        "key: value",
        "&anchor *alias !tag %directive",
        "yes", "no", "on", "off", "null", "~", "0x10", "1e3", "010", ".inf",
        "{flow: [1, 2]}",
        "back\\slash \\n",
        "\x01\x02\x1b[31m\x7f",
        "\xc2\x85 NEL \xe2\x80\xa8 LS \xe2\x80\xa9 PS \xef\xbb\xbf BOM",
        "\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\xa7",
        "'single' and '' two",
        "--- \n...\n",
};

static void test_schema_coverage(void) {
        for (size_t i = 0; i < schema_n_keys; i++) {
                const char *mapped = NULL, *lost = NULL;
                bool found = export_kube_key(schema_keys[i].section, schema_keys[i].key, &mapped, &lost);

                CHECK_MSG(found && (mapped || lost), "[%s] %s is mapped to the Pod or listed as not expressed",
                          schema_keys[i].section, schema_keys[i].key);
        }
}

/* Every lost part of every key appears in the list the output carries. */
static void test_not_expressed_lists_every_lost_part(void) {
        Buffer b = {};

        CHECK(export_kube_not_expressed(NULL, &b) == 0);
        for (size_t i = 0; i < schema_n_keys; i++) {
                const char *lost = NULL;

                if (!export_kube_key(schema_keys[i].section, schema_keys[i].key, NULL, &lost) || !lost)
                        continue;
                CHECK_MSG(b.data && strstr(b.data, lost), "[%s] %s: what is lost is listed",
                          schema_keys[i].section, schema_keys[i].key);
        }
        buffer_done(&b);
}

/* Runs PYTHON3 -c PROG with input on stdin; returns its exit status. */
static int run_python(const char *python, const char *prog, const char *input, size_t len) {
        int fds[2];
        pid_t pid;
        int status;

        if (pipe(fds) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(fds[0], 0);
                close(fds[0]);
                close(fds[1]);
                execlp(python, python, "-c", prog, (char *) NULL);
                _exit(127);
        }
        close(fds[0]);
        if (write(fds[1], input, len) != (ssize_t) len)
                status = -EIO;
        close(fds[1]);
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* One YAML document: a mapping whose key and value are the same hostile
 * string; python3's YAML parser must give back exactly that string for both,
 * and nothing else. The string travels to python hex-encoded on line 1. */
static void test_yaml_roundtrip(const char *python) {
        static const char prog[] =
                "import sys, yaml\n"
                "want = bytes.fromhex(sys.stdin.readline().strip()).decode()\n"
                "doc = yaml.safe_load(sys.stdin.read())\n"
                "sys.exit(0 if doc == {want: [want, {want: want}]} else 1)\n";

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                json_object *o = json_object_new_object(), *arr = json_object_new_array(), *inner = json_object_new_object();
                Buffer b = {};

                json_object_object_add(inner, hostile[i], json_object_new_string(hostile[i]));
                json_object_array_add(arr, json_object_new_string(hostile[i]));
                json_object_array_add(arr, inner);
                json_object_object_add(o, hostile[i], arr);
                for (const unsigned char *p = (const unsigned char *) hostile[i]; *p; p++)
                        buffer_printf(&b, "%02x", *p);
                buffer_puts(&b, "\n");
                CHECK_MSG(yaml_write_document(&b, o) == 0, "hostile string %zu: YAML written", i);
                CHECK_MSG(run_python(python, prog, b.data, b.len) == 0,
                          "hostile string %zu: python's YAML parser reads back exactly the string", i);
                buffer_done(&b);
                json_object_put(o);
        }
}

static void test_yaml_refuses_bad_utf8(void) {
        static const char *const bad[] = { "\xff", "\xc0\xaf", "\xed\xa0\x80", "abc\xe2\x82", "\xf4\x90\x80\x80" };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                Buffer b = {};
                json_object *s = json_object_new_string(bad[i]);

                CHECK_MSG(yaml_quote(&b, bad[i]) == -EILSEQ, "invalid UTF-8 %zu is refused by the YAML writer", i);
                CHECK_MSG(export_tree_check_utf8(s) == -EILSEQ, "invalid UTF-8 %zu is refused in the tree", i);
                json_object_put(s);
                buffer_done(&b);
        }
}

/* sh -c 'printf "%s" "$1"' with the quoted word must print the original. */
static void test_shell_roundtrip(void) {
        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                Buffer cmd = {};
                char out[512];
                size_t n = 0;
                FILE *p;

                buffer_puts(&cmd, "printf %s ");
                shell_quote(&cmd, hostile[i]);
                buffer_put(&cmd, "", 1);
                p = popen(cmd.data, "r");
                if (p) {
                        n = fread(out, 1, sizeof out, p);
                        pclose(p);
                }
                CHECK_MSG(p && n == strlen(hostile[i]) && memcmp(out, hostile[i], n) == 0,
                          "hostile string %zu survives /bin/sh as one word", i);
                buffer_done(&cmd);
        }
}

int main(int argc, char *argv[]) {
        if (argc != 2) {
                fprintf(stderr, "usage: test-export PYTHON3\n");
                return 2;
        }
        test_schema_coverage();
        test_not_expressed_lists_every_lost_part();
        test_yaml_roundtrip(argv[1]);
        test_yaml_refuses_bad_utf8();
        test_shell_roundtrip();
        return tap_finish();
}
