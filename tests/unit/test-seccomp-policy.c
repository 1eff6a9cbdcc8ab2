/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Table-level tests of the agent seccomp policy: every name resolves, the two
 * tables do not overlap, seccomp_policy_check_extra() refuses what it must,
 * the BPF writer refuses what check_extra refuses, and the OCI JSON profile is
 * valid JSON that allows nothing from the never-allowed list.
 *
 * Usage: test-seccomp-policy PYTHON3 [BUILT-JSON] */

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "policy.h"
#include "tap.h"

static const char *arg_python;
static const char *arg_built_json;

static void test_names_resolve(void) {
        const char *name;
        int filtered;

        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, &filtered)); i++)
                CHECK_MSG(seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR,
                          "allow-list name '%s' is known to libseccomp", name);

        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, NULL)); i++)
                CHECK_MSG(seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR,
                          "never-allowed name '%s' is known to libseccomp", name);
}

static void test_tables_disjoint(void) {
        const char *a, *b;
        size_t dups = 0, overlaps = 0;

        for (size_t i = 0; (a = seccomp_policy_allowed_name(i, NULL)); i++) {
                int nr_a = seccomp_syscall_resolve_name(a);

                for (size_t j = i + 1; (b = seccomp_policy_allowed_name(j, NULL)); j++)
                        if (streq(a, b) || (nr_a >= 0 && seccomp_syscall_resolve_name(b) == nr_a)) {
                                printf("# '%s' listed twice in the allow-list\n", a);
                                dups++;
                        }

                for (size_t j = 0; (b = seccomp_policy_never_name(j, NULL, NULL)); j++)
                        if (streq(a, b) || (nr_a >= 0 && seccomp_syscall_resolve_name(b) == nr_a)) {
                                printf("# '%s' is both allowed and never allowed\n", a);
                                overlaps++;
                        }
        }

        CHECK_MSG(dups == 0, "no syscall is listed twice in the allow-list");
        CHECK_MSG(overlaps == 0, "allow-list and never-allowed list do not overlap");
}

/* The ones the brief of the policy names explicitly: removing one from the
 * never-allowed table must fail this test. */
static const char *const required_never[] = {
        "mount", "umount2", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
        "mount_setattr", "pivot_root", "chroot", "ptrace", "process_vm_readv", "process_vm_writev",
        "bpf", "perf_event_open", "add_key", "request_key", "keyctl", "kexec_load", "kexec_file_load",
        "init_module", "finit_module", "delete_module", "unshare", "setns", "io_uring_setup",
        "io_uring_enter", "io_uring_register", "userfaultfd", "open_by_handle_at", "name_to_handle_at",
        "clock_settime", "clock_adjtime", "adjtimex", "settimeofday", "stime", "reboot", "swapon",
        "swapoff", "acct", "quotactl", "lookup_dcookie", "iopl", "ioperm", "vhangup", "clone3",
};

static void test_check_extra_never(void) {
        const char *name, *reason;
        int error;

        for (size_t i = 0; (name = seccomp_policy_never_name(i, &reason, &error)); i++) {
                const char *why = NULL;
                int r = seccomp_policy_check_extra(name, &why);

                CHECK_MSG(r == -EPERM && why && why[0] != '\0' && why == reason,
                          "check_extra refuses never-allowed '%s' with its reason", name);
        }

        for (size_t i = 0; i < ELEMENTSOF(required_never); i++) {
                bool found = false;

                for (size_t j = 0; (name = seccomp_policy_never_name(j, NULL, NULL)); j++)
                        if (streq(name, required_never[i]))
                                found = true;
                CHECK_MSG(found, "'%s' is on the never-allowed list", required_never[i]);
        }

        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, &error)); i++)
                if (streq(name, "clone3"))
                        break;
        CHECK_MSG(name && error == ENOSYS, "clone3 is answered with ENOSYS");
}

static void test_check_extra_filtered(void) {
        static const char *const filtered_names[] = { "clone", "socket", "socketpair", "personality", "ioctl", "mmap", "mprotect" };
        const char *name;
        size_t n_filtered = 0;
        int filtered;

        for (size_t i = 0; i < ELEMENTSOF(filtered_names); i++) {
                const char *why = NULL;
                int r = seccomp_policy_check_extra(filtered_names[i], &why);

                CHECK_MSG(r == -EPERM && why && strstr(why, "filter"),
                          "check_extra refuses to lift the argument filter of '%s'", filtered_names[i]);
        }

        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, &filtered)); i++)
                if (filtered)
                        n_filtered++;
        CHECK_MSG(n_filtered == ELEMENTSOF(filtered_names),
                  "exactly the %zu expected syscalls carry argument filters (found %zu)",
                  ELEMENTSOF(filtered_names), n_filtered);
        CHECK_MSG(seccomp_policy_n_conditional() == n_filtered, "n_conditional counts them");
}

static void test_check_extra_unknown(void) {
        char long_name[200];
        const char *why = "untouched";

        memset(long_name, 'a', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = '\0';

        CHECK(seccomp_policy_check_extra("no_such_syscall", &why) == -EINVAL);
        CHECK(seccomp_policy_check_extra("", NULL) == -EINVAL);
        CHECK(seccomp_policy_check_extra(NULL, NULL) == -EINVAL);
        CHECK(seccomp_policy_check_extra(long_name, NULL) == -EINVAL);
        CHECK(seccomp_policy_check_extra("READ", NULL) == -EINVAL);
        CHECK(seccomp_policy_check_extra("read ", NULL) == -EINVAL);
        CHECK(seccomp_policy_check_extra("0", NULL) == -EINVAL);
        CHECK_STREQ(why, "untouched");

        /* Known to libseccomp, but not a syscall of this architecture. */
        if (seccomp_syscall_resolve_name("socketcall") < 0)
                CHECK(seccomp_policy_check_extra("socketcall", NULL) == -EINVAL);
}

static void test_check_extra_ok(void) {
        CHECK(seccomp_policy_check_extra("syncfs", NULL) == 0);
        CHECK(seccomp_policy_check_extra("sync", NULL) == 0);
        CHECK(seccomp_policy_check_extra("setuid", NULL) == 0);
        CHECK(seccomp_policy_check_extra("read", NULL) == 0);  /* already allowed: harmless */
}

static void test_counts(void) {
        size_t n_unc = seccomp_policy_n_unconditional(), n_cond = seccomp_policy_n_conditional();

        printf("# allow-list: %zu unconditional + %zu with argument filters\n", n_unc, n_cond);
        CHECK_MSG(n_unc >= 100, "the allow-list is not suspiciously small (%zu)", n_unc);
        CHECK_MSG(n_unc + n_cond < 361, "the allow-list is smaller than Docker's default (%zu)", n_unc + n_cond);
}

static off_t write_bpf_size(char *const *extra, size_t n, int *ret_r) {
        _cleanup_close_ int fd = memfd_create("bpf", MFD_CLOEXEC);
        struct stat st;

        if (fd < 0) {
                *ret_r = -errno;
                return -1;
        }
        *ret_r = seccomp_policy_write_bpf(extra, n, 0, fd);
        if (fstat(fd, &st) < 0)
                return -1;
        return st.st_size;
}

static void test_write_bpf(void) {
        char *ok[] = { (char *) "syncfs", (char *) "read" };
        char *twice[] = { (char *) "syncfs", (char *) "syncfs" };
        char *never[] = { (char *) "syncfs", (char *) "mount" };
        char *filtered[] = { (char *) "ioctl" };
        char *unknown[] = { (char *) "no_such_syscall" };
        off_t size;
        int r;

        size = write_bpf_size(NULL, 0, &r);
        CHECK_MSG(r == 0 && size > 0 && size % 8 == 0, "the default filter is written (%lld bytes)", (long long) size);
        CHECK_MSG(size / 8 <= 4096, "the filter fits the kernel's BPF_MAXINSNS (%lld instructions)", (long long) size / 8);

        size = write_bpf_size(ok, ELEMENTSOF(ok), &r);
        CHECK_MSG(r == 0 && size > 0, "a filter with extras is written");

        size = write_bpf_size(twice, ELEMENTSOF(twice), &r);
        CHECK_MSG(r == 0 && size > 0, "an extra given twice is harmless");

        size = write_bpf_size(never, ELEMENTSOF(never), &r);
        CHECK_MSG(r == -EPERM && size == 0, "a never-allowed extra is refused and nothing is written");

        size = write_bpf_size(filtered, ELEMENTSOF(filtered), &r);
        CHECK_MSG(r == -EPERM && size == 0, "an extra lifting an argument filter is refused");

        size = write_bpf_size(unknown, ELEMENTSOF(unknown), &r);
        CHECK_MSG(r == -EINVAL && size == 0, "an unknown extra is refused");

        CHECK(seccomp_policy_write_bpf(NULL, 0, 0, -1) == -EINVAL);
        CHECK(seccomp_policy_write_bpf(NULL, 1, 0, 1) == -EINVAL);
        CHECK_MSG(seccomp_policy_write_bpf(NULL, 0, (SeccompPolicyFlags) 0x2, 1) == -EINVAL, "an unknown flag is refused");
        {
                const char *reason = NULL;
                CHECK_MSG(seccomp_policy_check_extra("pkey_mprotect", &reason) == -EPERM && reason &&
                                  strstr(reason, "W^X"),
                          "pkey_mprotect cannot be added: it would get around W^X (%s)", strempty(reason));
                CHECK_MSG(seccomp_policy_check_extra("pkey_alloc", NULL) == -EPERM, "pkey_alloc is never allowed");
                CHECK_MSG(seccomp_policy_check_extra("pkey_free", NULL) == -EPERM, "pkey_free is never allowed");
        }
}

/* Runs argv with stdout (and, if quiet, stderr) sent to /dev/null; returns
 * its exit status, 128+N for signal N, or -errno. */
static int run(char *const argv[], bool quiet) {
        pid_t pid = fork();
        int status;

        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDOUT_FILENO);  /* keep the TAP stream clean */
                        if (quiet)
                                (void) dup2(null, STDERR_FILENO);
                }
                execv(argv[0], argv);
                _exit(127);
        }
        if (waitpid(pid, &status, 0) < 0)
                return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Checked with Python: structure, and that no never-allowed name is in an
 * ALLOW entry. The names to look for come on the command line. */
static const char json_check_py[] =
        "import json, sys\n"
        "p = json.load(open(sys.argv[1]))\n"
        "never = set(sys.argv[2:])\n"
        "assert p['defaultAction'] == 'SCMP_ACT_ERRNO', 'defaultAction'\n"
        "assert p['defaultErrnoRet'] == 1, 'defaultErrnoRet'\n"
        "assert len(p['architectures']) == 1, 'architectures'\n"
        "assert len(p['syscalls']) > 1, 'syscalls'\n"
        "for s in p['syscalls']:\n"
        "    assert s['action'] in ('SCMP_ACT_ALLOW', 'SCMP_ACT_ERRNO'), s\n"
        "    assert all(isinstance(n, str) and n for n in s['names']), s\n"
        "    for a in s.get('args', []):\n"
        "        assert 0 <= a['index'] < 6 and a['op'].startswith('SCMP_CMP_'), a\n"
        "    if s['action'] == 'SCMP_ACT_ALLOW':\n"
        "        bad = never.intersection(s['names'])\n"
        "        assert not bad, 'never-allowed names allowed: %s' % bad\n";

static void test_json(void) {
        _cleanup_free_ char *buf = NULL, *file_buf = NULL;
        char path[] = "/tmp/test-seccomp-json-XXXXXX";
        _cleanup_fclose_ FILE *mem = NULL;
        _cleanup_close_ int fd = -EBADF;
        char *argv[256];
        size_t size = 0, n = 0;
        const char *name;
        int error, r;

        mem = open_memstream(&buf, &size);
        if (!CHECK(mem))
                return;
        r = seccomp_policy_write_oci_json(mem);
        CHECK_MSG(r == 0, "the OCI JSON profile is written");
        fclose(TAKE_PTR(mem));
        if (r < 0 || !buf)
                return;

        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, &error)); i++) {
                char quoted[80];

                if (error != EPERM)  /* clone3 appears, with its ENOSYS action */
                        continue;
                snprintf(quoted, sizeof quoted, "\"%s\"", name);
                CHECK_MSG(!strstr(buf, quoted), "the JSON does not mention never-allowed '%s'", name);
        }

        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, NULL)); i++) {
                char quoted[80];

                if (seccomp_syscall_resolve_name(name) < 0)
                        continue;
                snprintf(quoted, sizeof quoted, "\"%s\"", name);
                CHECK_MSG(strstr(buf, quoted), "the JSON mentions allowed '%s'", name);
        }

        fd = mkstemp(path);
        if (!CHECK(fd >= 0))
                return;
        CHECK(write(fd, buf, size) == (ssize_t) size);

        r = run((char *[]) { (char *) arg_python, (char *) "-m", (char *) "json.tool", path, NULL }, false);
        CHECK_MSG(r == 0, "python3 -m json.tool accepts the profile (exit %d)", r);

        argv[n++] = (char *) arg_python;
        argv[n++] = (char *) "-c";
        argv[n++] = (char *) json_check_py;
        argv[n++] = path;
        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, NULL)) && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = (char *) name;
        argv[n] = NULL;
        r = run(argv, false);
        CHECK_MSG(r == 0, "the profile's structure is right and allows nothing never-allowed (exit %d)", r);

        /* The corrupted copy must fail the same check: the check can fail. */
        if (ftruncate(fd, (off_t) size / 2) == 0) {
                r = run((char *[]) { (char *) arg_python, (char *) "-m", (char *) "json.tool", path, NULL }, true);
                CHECK_MSG(r != 0, "python3 -m json.tool rejects a truncated profile");
        }
        (void) unlink(path);

        if (arg_built_json) {
                _cleanup_fclose_ FILE *f = fopen(arg_built_json, "re");
                size_t file_size = 0;

                if (CHECK_MSG(f, "the built %s exists", arg_built_json)) {
                        _cleanup_fclose_ FILE *m = open_memstream(&file_buf, &file_size);
                        char chunk[4096];
                        size_t k;

                        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
                                fwrite(chunk, 1, k, m);
                        fclose(TAKE_PTR(m));
                        CHECK_MSG(file_buf && file_size == size && memcmp(file_buf, buf, size) == 0,
                                  "the installed agent-seccomp.json matches the table");
                }
        }
}

static void test_markdown(void) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_fclose_ FILE *mem = NULL;
        const char *name, *reason;
        size_t size = 0, missing = 0;
        int r;

        mem = open_memstream(&buf, &size);
        if (!CHECK(mem))
                return;
        r = seccomp_policy_write_markdown(mem);
        fclose(TAKE_PTR(mem));
        CHECK_MSG(r == 0 && buf, "the Markdown reference is written");
        if (!buf)
                return;

        for (size_t i = 0; (name = seccomp_policy_never_name(i, &reason, NULL)); i++) {
                char quoted[80];

                snprintf(quoted, sizeof quoted, "`%s`", name);
                if (!strstr(buf, quoted) || !strstr(buf, reason)) {
                        printf("# never-allowed '%s' or its reason is missing\n", name);
                        missing++;
                }
        }
        for (size_t i = 0; (name = seccomp_policy_allowed_name(i, NULL)); i++) {
                char quoted[80];

                snprintf(quoted, sizeof quoted, "`%s`", name);
                if (seccomp_syscall_resolve_name(name) >= 0 && !strstr(buf, quoted)) {
                        printf("# allowed '%s' is missing\n", name);
                        missing++;
                }
        }
        CHECK_MSG(missing == 0, "the reference lists every syscall of both tables, with the reasons");
}

int main(int argc, char *argv[]) {
        if (argc < 2) {
                fprintf(stderr, "Usage: %s PYTHON3 [BUILT-JSON]\n", argv[0]);
                return 2;
        }
        arg_python = argv[1];
        arg_built_json = argc > 2 ? argv[2] : NULL;

        test_names_resolve();
        test_tables_disjoint();
        test_check_extra_never();
        test_check_extra_filtered();
        test_check_extra_unknown();
        test_check_extra_ok();
        test_counts();
        test_write_bpf();
        test_json();
        test_markdown();

        return tap_finish();
}
