/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* [Agent] ImageAllow=: the definition-time verdict (image_allow_check(), one
 * per rule) and what the approved-image policy makes of an exception when it
 * scans a real tree: only the exact path of an interpreter is excepted, only
 * from the name rule, and the report lists the exceptions that were used. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-limits.h"
#include "image-programs.h"
#include "macro.h"
#include "runtime.h"
#include "tap.h"
#include "test-util.h"

static char base[] = "/tmp/test-image-allow.XXXXXX";

static void test_verdicts(void) {
        static const struct {
                const char *path;
                ImageAllowVerdict want;
                const char *why;
        } cases[] = {
                { "/usr/bin/python3.11",      IMAGE_ALLOW_OK,           "a versioned python3 is an interpreter" },
                { "/usr/bin/python3",         IMAGE_ALLOW_OK,           "python3" },
                { "/usr/local/bin/python",    IMAGE_ALLOW_OK,           "python" },
                { "/usr/bin/node",            IMAGE_ALLOW_OK,           "node" },
                { "/usr/bin/nodejs",          IMAGE_ALLOW_OK,           "nodejs" },
                { "/usr/bin/perl",            IMAGE_ALLOW_OK,           "perl" },
                { "/opt/ruby/bin/ruby",       IMAGE_ALLOW_OK,           "ruby" },
                { "/bin/sh",                  IMAGE_ALLOW_NEVER,        "a shell" },
                { "/usr/bin/bash",            IMAGE_ALLOW_NEVER,        "bash" },
                { "/bin/busybox",             IMAGE_ALLOW_NEVER,        "busybox (contains a shell)" },
                { "/usr/bin/curl",            IMAGE_ALLOW_NEVER,        "a network tool" },
                { "/usr/bin/ssh",             IMAGE_ALLOW_NEVER,        "ssh" },
                { "/usr/bin/pip3.11",         IMAGE_ALLOW_NEVER,        "a versioned pip" },
                { "/usr/bin/npm",             IMAGE_ALLOW_NEVER,        "npm" },
                { "/usr/bin/npx",             IMAGE_ALLOW_NEVER,        "npx" },
                { "/usr/bin/apt-get",         IMAGE_ALLOW_NEVER,        "apt-get" },
                { "/usr/bin/gcc",             IMAGE_ALLOW_NEVER,        "a compiler" },
                { "/usr/local/go/bin/go",     IMAGE_ALLOW_NEVER,        "go" },
                { "/usr/bin/demo-agent",      IMAGE_ALLOW_NOT_REFUSED,  "a name the policy does not refuse" },
                { "/usr/lib/libpython3.11.so", IMAGE_ALLOW_NOT_REFUSED, "a library named after python" },
                { "usr/bin/python3",          IMAGE_ALLOW_NOT_ABSOLUTE, "a relative path" },
                { "python3",                  IMAGE_ALLOW_NOT_ABSOLUTE, "a bare name" },
                { "/usr/bin/../bin/python3",  IMAGE_ALLOW_NOT_ABSOLUTE, "'..'" },
                { "/usr/bin/./python3",       IMAGE_ALLOW_NOT_ABSOLUTE, "'.'" },
                { "/usr//bin/python3",        IMAGE_ALLOW_NOT_ABSOLUTE, "'//'" },
                { "/usr/bin/python3/",        IMAGE_ALLOW_NOT_ABSOLUTE, "a trailing '/'" },
                { "/",                        IMAGE_ALLOW_NOT_ABSOLUTE, "the root" },
                { "",                         IMAGE_ALLOW_NOT_ABSOLUTE, "an empty path" },
                { "/usr/bin/python 3",        IMAGE_ALLOW_NOT_ABSOLUTE, "a blank" },
                { "/usr/bin/py,thon3",        IMAGE_ALLOW_NOT_ABSOLUTE, "a ','" },
                { "/usr/bin/python3\n",       IMAGE_ALLOW_NOT_ABSOLUTE, "a line break" },
        };
        static const char *const names[] = {
                [IMAGE_ALLOW_OK] = "allowed", [IMAGE_ALLOW_NOT_ABSOLUTE] = "not-absolute",
                [IMAGE_ALLOW_NEVER] = "never", [IMAGE_ALLOW_NOT_REFUSED] = "not-refused",
        };
        char longpath[IMAGE_PATH_MAX + 16];
        const ImageProgram *p;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ImageAllowVerdict v = image_allow_check(cases[i].path, NULL);
                CHECK_MSG(v == cases[i].want, "%s: rule %s (got %s)", cases[i].why, names[cases[i].want],
                          (unsigned) v < ELEMENTSOF(names) ? names[v] : "?");
        }

        CHECK(image_allow_check("/bin/sh", &p) == IMAGE_ALLOW_NEVER && p && p->class == IMAGE_PROGRAM_SHELL);
        CHECK_MSG(p && streq(p->reason, "a shell"), "the row that fired is the shell's");
        CHECK(image_allow_check("/usr/bin/python3.11", &p) == IMAGE_ALLOW_OK && p && p->class == IMAGE_PROGRAM_INTERPRETER);
        CHECK_MSG(image_allow_check(NULL, &p) == IMAGE_ALLOW_NOT_ABSOLUTE && !p, "NULL is refused");

        memset(longpath, 'a', sizeof longpath);
        longpath[0] = '/';
        memcpy(longpath + IMAGE_PATH_MAX - 8, "/python3", 9);
        CHECK_MSG(image_allow_check(longpath, NULL) == IMAGE_ALLOW_NOT_ABSOLUTE, "a path of IMAGE_PATH_MAX bytes is refused");

        for (unsigned c = 0; c < _IMAGE_PROGRAM_CLASS_MAX; c++)
                CHECK_MSG(image_program_class_exceptable(c) == (c == IMAGE_PROGRAM_INTERPRETER),
                          "class %u is exceptable only if it is the interpreters'", c);
}

static void write_at(const char *rel, const char *content, mode_t mode) {
        const char *p = test_pathf("%s/%s", base, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t) strlen(content) || close(fd) < 0 ||
            chmod(p, mode) < 0) {
                printf("Bail out! cannot create %s: %m\n", p);
                exit(1);
        }
}

/* A pretend program: the ELF magic is what the policy looks at. */
static void touch(const char *rel, mode_t mode) {
        write_at(rel, "\x7f" "ELF pretend", mode);
}

static bool has_violation(const ImagePolicyReport *r, const char *path, const char *part) {
        for (size_t i = 0; i < r->n_violations; i++)
                if (streq(r->violations[i].path, path) && strstr(r->violations[i].reason, part))
                        return true;
        return false;
}

static int scan(char *const *allow, size_t n, ImagePolicyReport *rep) {
        _cleanup_close_ int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return image_policy_scan(fd, 0, allow, n, rep);
}

static void test_scan(void) {
        static const char *const dirs[] = { "dev", "proc", "run", "sys", "tmp", "usr", "usr/bin", "usr/local",
                                            "usr/local/bin", "workspace", NULL };
        char *py[] = { (char *) "/usr/bin/python3.11" };
        char *py_and_link[] = { (char *) "/usr/bin/python3.11", (char *) "/usr/bin/python3" };
        char *elsewhere[] = { (char *) "/usr/local/bin/python3.11" };
        char *shell[] = { (char *) "/usr/bin/python3.11", (char *) "/bin/sh" };
        char *relative[] = { (char *) "usr/bin/python3.11" };
        char *setuid_node[] = { (char *) "/usr/bin/node" };
        ImagePolicyReport rep = {};

        for (const char *const *d = dirs; *d; d++)
                if (mkdir(test_pathf("%s/%s", base, *d), 0755) < 0) {
                        printf("Bail out! mkdir: %m\n");
                        exit(1);
                }
        touch("usr/bin/python3.11", 0755);
        CHECK(symlink("python3.11", test_pathf("%s/usr/bin/python3", base)) == 0);

        CHECK(scan(NULL, 0, &rep) == 0);
        CHECK_MSG(has_violation(&rep, "/usr/bin/python3.11", "interpreter") && has_violation(&rep, "/usr/bin/python3", "interpreter") &&
                          rep.n_violations == 2 && rep.n_exceptions == 0 && !rep.exceptions,
                  "without ImageAllow= the interpreter and its link are refused, nothing is excepted");
        image_policy_report_done(&rep);

        CHECK(scan(py, ELEMENTSOF(py), &rep) == 0);
        CHECK_MSG(rep.n_violations == 1 && has_violation(&rep, "/usr/bin/python3", "interpreter"),
                  "an exception covers its exact path only: the symlink python3 is still refused");
        CHECK_MSG(rep.n_exceptions == 1 && streq(rep.exceptions[0], "/usr/bin/python3.11") && !rep.exceptions[1],
                  "the report lists the exception that was used (NULL-terminated)");
        image_policy_report_done(&rep);

        CHECK(scan(py_and_link, ELEMENTSOF(py_and_link), &rep) == 0);
        CHECK_MSG(rep.n_violations == 0 && rep.n_exceptions == 2, "with both paths allowed the image passes, two exceptions used");
        image_policy_report_done(&rep);

        CHECK(scan(elsewhere, ELEMENTSOF(elsewhere), &rep) == 0);
        CHECK_MSG(rep.n_violations == 2 && rep.n_exceptions == 0,
                  "an exception for a path the image does not have lifts nothing and is not reported as used");
        image_policy_report_done(&rep);

        CHECK_MSG(scan(shell, ELEMENTSOF(shell), &rep) == -EPERM && rep.n_violations == 0,
                  "an ImageAllow= for a shell makes the scan fail, whatever the image holds");
        CHECK_MSG(scan(relative, ELEMENTSOF(relative), &rep) == -EPERM, "a relative ImageAllow= makes the scan fail");
        CHECK(scan(NULL, 1, &rep) == -EINVAL);

        /* What the file turns out to be still counts. */
        touch("usr/bin/node", 04755);
        CHECK(scan(setuid_node, ELEMENTSOF(setuid_node), &rep) == 0);
        CHECK_MSG(has_violation(&rep, "/usr/bin/node", "setuid") && !has_violation(&rep, "/usr/bin/node", "interpreter"),
                  "an allowed interpreter that is setuid is refused as setuid (the exception lifts the name rule only)");
        CHECK(rep.n_exceptions == 1);
        image_policy_report_done(&rep);
        CHECK(unlink(test_pathf("%s/usr/bin/node", base)) == 0);

        /* An allowed "interpreter" that is a script would run its #! line. */
        write_at("usr/bin/node", "#!/bin/sh\necho hi\n", 0755);
        CHECK(scan(setuid_node, ELEMENTSOF(setuid_node), &rep) == 0);
        CHECK_MSG(has_violation(&rep, "/usr/bin/node", "not an ELF program") && rep.n_exceptions == 0,
                  "an allowed interpreter that is a script is refused and not counted as an exception");
        image_policy_report_done(&rep);
        CHECK(unlink(test_pathf("%s/usr/bin/node", base)) == 0);

        /* A shell dressed up under an allowed name is still refused if it is
         * reached by its own name: /bin/sh -> python3.11 is refused as sh. */
        CHECK(mkdir(test_pathf("%s/bin", base), 0755) == 0);
        CHECK(symlink("/usr/bin/python3.11", test_pathf("%s/bin/sh", base)) == 0);
        CHECK(scan(py_and_link, ELEMENTSOF(py_and_link), &rep) == 0);
        CHECK_MSG(rep.n_violations == 1 && has_violation(&rep, "/bin/sh", "shell"), "/bin/sh is refused whatever it points at");
        image_policy_report_done(&rep);
}

int main(void) {
        test_verdicts();
        if (!mkdtemp(base)) {
                printf("Bail out! mkdtemp: %m\n");
                return 1;
        }
        test_scan();
        {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "rm -rf --one-file-system %s", base);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", base);
        }
        return tap_finish();
}
