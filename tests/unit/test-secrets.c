/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secret staging: the ramfs, modes, ownership and content of the copies,
 * every refusal (each leaves nothing behind), and that no value reaches the
 * log. Needs root (it mounts); without root the whole test is skipped, which
 * TAP reports as a skip, not a pass. */

#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"
#include "tap.h"
#include "test-util.h"

#define OWNER ((uid_t) (0x70000000U + 1000U))
#define VALUE "s3cr3t-value-do-not-log-7f3a9c"

static char tmp[256];
static char stage[300];
static char logfile[300];

static void path(char *buf, size_t size, const char *rel) {
        snprintf(buf, size, "%s/%s", tmp, rel);
}

static void write_source(const char *rel, const void *data, size_t len, mode_t mode) {
        char p[300];
        int fd;

        path(p, sizeof p, rel);
        (void) unlink(p);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data, len) != (ssize_t) len || fchmod(fd, mode) < 0)
                abort();
        close(fd);
}

static bool nothing_left(void) {
        struct stat st;
        return lstat(stage, &st) < 0 && errno == ENOENT;
}

static bool file_is(const char *p, const void *data, size_t len) {
        char buf[4096];
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return false;
        n = read(fd, buf, sizeof buf);
        close(fd);
        return n == (ssize_t) len && memcmp(buf, data, len) == 0;
}

/* Stages one secret NAME=SOURCE and expects a refusal that leaves nothing. */
static void refuse(const char *what, const char *source) {
        SecretSpec s = { (char *) "x", (char *) source };
        int r = secrets_stage(stage, &s, 1, OWNER);

        CHECK_MSG(r < 0, "refused: %s", what);
        CHECK_MSG(nothing_left(), "nothing left behind: %s", what);
        if (!nothing_left()) {
                (void) secrets_remove(stage);
        }
}

static void test_stage(void) {
        char src[300], p[400], cd[300];
        static const char bin[] = { 'a', 0, 'b', '\n', (char) 0xff, 0 };
        struct stat st;
        struct statfs sfs;
        struct statvfs svfs;

        path(src, sizeof src, "api-key");
        write_source("api-key", VALUE "\n", strlen(VALUE) + 1, 0600);
        write_source("binary", bin, sizeof bin, 0640);
        write_source("empty", "", 0, 0400);
        path(cd, sizeof cd, "creds");
        if (mkdir(cd, 0500) < 0)
                abort();
        write_source("creds/tok", "credential-bytes", 16, 0400);
        setenv("CREDENTIALS_DIRECTORY", cd, 1);

        char binsrc[300], emptysrc[300];
        path(binsrc, sizeof binsrc, "binary");
        path(emptysrc, sizeof emptysrc, "empty");
        SecretSpec s[] = {
                { (char *) "API_KEY", src },
                { (char *) "blob.bin", binsrc },
                { (char *) "empty", emptysrc },
                { (char *) "token", (char *) "cred:tok" },
        };

        CHECK(secrets_stage(stage, s, ELEMENTSOF(s), OWNER) == 0);

        CHECK(path_is_mount_point(stage) == 1);
        CHECK(statfs(stage, &sfs) == 0 && sfs.f_type == (typeof(sfs.f_type)) RAMFS_MAGIC);
        CHECK(statvfs(stage, &svfs) == 0 && (svfs.f_flag & ST_NOSUID) && (svfs.f_flag & ST_NODEV) &&
              (svfs.f_flag & ST_NOEXEC));
        CHECK(stat(stage, &st) == 0 && (st.st_mode & 07777) == 0500 && st.st_uid == OWNER && st.st_gid == OWNER);

        snprintf(p, sizeof p, "%s/API_KEY", stage);
        CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0400 &&
              st.st_uid == OWNER && st.st_gid == OWNER);
        CHECK(file_is(p, VALUE "\n", strlen(VALUE) + 1));
        snprintf(p, sizeof p, "%s/blob.bin", stage);
        CHECK(file_is(p, bin, sizeof bin));
        CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0400);
        snprintf(p, sizeof p, "%s/empty", stage);
        CHECK(stat(p, &st) == 0 && st.st_size == 0 && (st.st_mode & 07777) == 0400);
        snprintf(p, sizeof p, "%s/token", stage);
        CHECK(file_is(p, "credential-bytes", 16));

        /* a second staging over a live one is refused, not merged */
        CHECK(secrets_stage(stage, s, 1, OWNER) < 0);
        CHECK(path_is_mount_point(stage) == 1);

        CHECK(secrets_remove(stage) == 1);
        CHECK(nothing_left());
        CHECK_MSG(secrets_remove(stage) == 0, "removing twice is fine");

        /* no secrets at all: still a (empty) ramfs, for the bind mount */
        CHECK(secrets_stage(stage, NULL, 0, OWNER) == 0);
        CHECK(path_is_mount_point(stage) == 1);
        CHECK(secrets_remove(stage) == 1);
}

static void test_refusals(void) {
        char p[300], q[300], big[300];
        _cleanup_free_ char *buf = NULL;

        path(p, sizeof p, "missing");
        refuse("missing source", p);

        path(p, sizeof p, "adir");
        CHECK(mkdir(p, 0700) == 0);
        refuse("a directory", p);

        path(p, sizeof p, "fifo");
        CHECK(mkfifo(p, 0600) == 0);
        refuse("a FIFO (and it does not hang)", p);
        refuse("a character device", "/dev/null");

        write_source("world-writable", "x", 1, 0606);
        path(p, sizeof p, "world-writable");
        refuse("a file others can write", p);

        path(q, sizeof q, "open-dir");
        CHECK(mkdir(q, 0700) == 0 && chmod(q, 0777) == 0);
        write_source("open-dir/f", "x", 1, 0600);
        path(p, sizeof p, "open-dir/f");
        refuse("a file in a directory others can write", p);
        CHECK(chmod(q, 01777) == 0);
        refuse("a file in a sticky world-writable directory", p);

        /* a symlink in an open directory could be pointed anywhere */
        write_source("good", "x", 1, 0600);
        path(p, sizeof p, "good");
        path(q, sizeof q, "open-dir/link");
        CHECK(symlink(p, q) == 0);
        refuse("a symlink in a directory others can write", q);

        /* The ownership rule, at every level, each refusal by its rule. */
        {
                static const struct { const char *what, *rel; } bad[] = {
                        { "a file its group can write", "group-writable" },
                        { "a file not owned by root", "not-root" },
                        { "a file with a second link", "linked" },
                        { "a file in a directory its group can write", "group-dir/f" },
                        { "a file in a directory not owned by root", "user-dir/f" },
                        { "a symlink, even in a safe directory", "safe-link" },
                };
                char d[300];

                write_source("group-writable", "x", 1, 0620);
                write_source("not-root", "x", 1, 0600);
                path(p, sizeof p, "not-root");
                CHECK(chown(p, 1000, 0) == 0);
                write_source("linked", "x", 1, 0600);
                path(p, sizeof p, "linked");
                path(q, sizeof q, "linked-2");
                CHECK(link(p, q) == 0);
                path(d, sizeof d, "group-dir");
                CHECK(mkdir(d, 0770) == 0 && chmod(d, 0770) == 0);
                write_source("group-dir/f", "x", 1, 0600);
                path(d, sizeof d, "user-dir");
                CHECK(mkdir(d, 0700) == 0 && chown(d, 1000, 1000) == 0);
                write_source("user-dir/f", "x", 1, 0600);
                write_source("safe-target", "x", 1, 0600);
                path(p, sizeof p, "safe-target");
                path(q, sizeof q, "safe-link");
                CHECK(symlink(p, q) == 0);
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        SecretSpec sp = { (char *) "t", p };
                        path(p, sizeof p, bad[i].rel);
                        CHECK_MSG(secrets_stage(stage, &sp, 1, OWNER) == -EPERM && nothing_left(),
                                  "refused by the ownership rule: %s", bad[i].what);
                }
                write_source("group-readable", "x", 1, 0640);
                path(p, sizeof p, "group-readable");
                {
                        SecretSpec sp = { (char *) "t", p };
                        CHECK_MSG(secrets_stage(stage, &sp, 1, OWNER) == 0, "a root file its group may read is fine");
                        CHECK(secrets_remove(stage) == 1);
                }
        }

        /* 1 MiB is fine, one byte more is not */
        buf = calloc(1, SECRET_SIZE_MAX + 1);
        if (!buf)
                abort();
        write_source("big", buf, SECRET_SIZE_MAX + 1, 0600);
        path(big, sizeof big, "big");
        refuse("a source larger than 1 MiB", big);
        write_source("big", buf, SECRET_SIZE_MAX, 0600);
        {
                SecretSpec s = { (char *) "big", big };
                CHECK_MSG(secrets_stage(stage, &s, 1, OWNER) == 0, "exactly 1 MiB is accepted");
                CHECK(secrets_remove(stage) == 1);
        }

        refuse("an unknown credential", "cred:nope");
        refuse("an invalid credential name", "cred:../tok");
        refuse("a relative path", "relative");
        unsetenv("CREDENTIALS_DIRECTORY");
        refuse("a credential when the unit has none", "cred:tok");

        /* one bad source among good ones: nothing at all is staged */
        {
                char good[300], missing[300];
                path(good, sizeof good, "good");
                path(missing, sizeof missing, "missing");
                SecretSpec s[] = { { (char *) "a", good }, { (char *) "b", missing } };
                CHECK(secrets_stage(stage, s, 2, OWNER) < 0);
                CHECK(nothing_left());
        }
}

static void test_no_value_in_log(void) {
        char src[300], cmd[600];
        int saved, fd;

        /* Everything the staging and removal log, at debug level, goes to a
         * file that is then searched for the value. */
        log_set_max_level(LOG_DEBUG);
        fd = open(logfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        saved = dup(STDERR_FILENO);
        dup2(fd, STDERR_FILENO);

        path(src, sizeof src, "api-key");
        {
                SecretSpec s = { (char *) "API_KEY", src };
                SecretSpec bad[] = { { (char *) "API_KEY", src }, { (char *) "x", (char *) "/nonexistent" } };
                (void) secrets_stage(stage, &s, 1, OWNER);
                (void) secrets_remove(stage);
                (void) secrets_stage(stage, bad, 2, OWNER);
        }

        dup2(saved, STDERR_FILENO);
        close(saved);
        close(fd);
        log_set_max_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_CRIT);

        snprintf(cmd, sizeof cmd, "grep -q 'Staged secret .API_KEY.' '%s'", logfile);
        CHECK_MSG(system(cmd) == 0, "the log names the secret");
        snprintf(cmd, sizeof cmd, "grep -q '%s' '%s'", VALUE, logfile);
        CHECK_MSG(system(cmd) != 0, "the log never contains the value");
}

int main(void) {
        char cmd[400];

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root to mount ramfs\n");
                return 0;
        }
        log_set_max_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
        umask(022);
        /* Not below /tmp: sources in a directory others can write (and /tmp
         * is one) are refused by design. The build directory is not. */
        if (test_make_base_dir(tmp, sizeof tmp, "test-secrets") < 0)
                return 1;
        snprintf(stage, sizeof stage, "%s/stage", tmp);
        snprintf(logfile, sizeof logfile, "%s/log", tmp);

        test_stage();
        test_refusals();
        test_no_value_in_log();

        CHECK(nothing_left());
        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp);
        CHECK(system(cmd) == 0);
        return tap_finish();
}
