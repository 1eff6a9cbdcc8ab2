/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of `agent-runtime provision`, the approved-image policy and image
 * digests. Needs root (bind and loop mounts, mknod); runs in a private mount
 * namespace so that nothing it mounts is seen outside, even if it crashes. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "runtime.h"
#include "tap.h"
#include "test-util.h"

static char base[] = "/tmp/test-provision.XXXXXX";

static void write_file(const char *path, const char *content, mode_t mode) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t) strlen(content)) {
                printf("Bail out! cannot write %s: %m\n", path);
                exit(1);
        }
        close(fd);
        if (chmod(path, mode) < 0) {
                printf("Bail out! cannot chmod %s: %m\n", path);
                exit(1);
        }
}

static void mkdirs(const char *root, const char *const *dirs) {
        for (; *dirs; dirs++)
                if (mkdir(test_pathf("%s/%s", root, *dirs), 0755) < 0 && errno != EEXIST) {
                        printf("Bail out! mkdir %s/%s: %m\n", root, *dirs);
                        exit(1);
                }
}

/* A minimal tree the policy accepts: the mount points and one binary. */
static void make_clean_tree(const char *root) {
        static const char *const dirs[] = {
                "", "dev", "etc", "proc", "run", "sys", "tmp", "usr", "usr/bin", "workspace", NULL
        };
        mkdirs(root, dirs);
        write_file(test_pathf("%s/usr/bin/agent", root), "\x7f" "ELF pretend\n", 0755);
}

static int run(const char *cmd) {
        int r = system(cmd);
        return WIFEXITED(r) ? WEXITSTATUS(r) : 255;
}

static bool report_has(const ImagePolicyReport *r, const char *path, const char *reason_part) {
        for (size_t i = 0; i < r->n_violations; i++)
                if (streq(r->violations[i].path, path) && strstr(r->violations[i].reason, reason_part))
                        return true;
        return false;
}

static int scan(const char *root, ImagePolicyReport *rep) {
        _cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return image_policy_scan(fd, IMAGE_POLICY_ROOT_OWNED, NULL, 0, rep);
}

static void test_policy(void) {
        _cleanup_free_ char *clean = strdup(test_pathf("%s/clean", base)), *dirty = strdup(test_pathf("%s/dirty", base));
        static const char *const dirty_dirs[] = {
                "bin", "sbin", "usr/local", "usr/local/bin", "usr/lib", "usr/lib/node", "usr/lib/python3", "opt", NULL
        };
        static const struct {
                const char *path, *reason;
        } bad[] = {
                { "bin/sh",                 "shell" },
                { "bin/bash",               "shell" },
                { "bin/dash",               "shell" },
                { "usr/bin/zsh",            "shell" },
                { "opt/ash",                "shell" },
                { "opt/ksh",                "shell" },
                { "usr/local/bin/busybox",  "shell" },
                { "usr/bin/curl",           "network" },
                { "usr/bin/wget",           "network" },
                { "usr/bin/nc",             "network" },
                { "usr/bin/ncat",           "network" },
                { "usr/bin/netcat",         "network" },
                { "usr/bin/socat",          "network" },
                { "usr/bin/nmap",           "network" },
                { "usr/bin/dig",            "network" },
                { "usr/bin/ssh",            "network" },
                { "usr/bin/telnet",         "network" },
                { "usr/bin/apt",            "package manager" },
                { "usr/bin/apt-get",        "package manager" },
                { "usr/bin/dpkg",           "package manager" },
                { "sbin/apk",               "package manager" },
                { "usr/local/bin/pip",      "package manager" },
                { "usr/local/bin/pip3",     "package manager" },
                { "usr/bin/npm",            "package manager" },
                { "usr/bin/rpm",            "package manager" },
                { "usr/bin/dnf",            "package manager" },
                { "usr/bin/yum",            "package manager" },
                { "usr/bin/cc",             "compiler" },
                { "usr/bin/gcc",            "compiler" },
                { "usr/bin/clang",          "compiler" },
                { "usr/bin/tcc",            "compiler" },
                { "usr/local/bin/go",       "compiler" },
                { "usr/bin/python",         "interpreter" },
                { "usr/bin/python3",        "interpreter" },
                { "usr/bin/python3.11",     "interpreter" },
                { "usr/bin/perl",           "interpreter" },
                { "usr/bin/ruby",           "interpreter" },
                { "usr/bin/node",           "interpreter" },
        };
        ImagePolicyReport rep = {};
        int r;

        make_clean_tree(clean);
        r = scan(clean, &rep);
        CHECK(r == 0);
        CHECK_MSG(rep.n_violations == 0, "a clean tree passes the policy (%zu violations)", rep.n_violations);
        image_policy_report_done(&rep);

        /* Directories named like programs are fine. */
        make_clean_tree(dirty);
        mkdirs(dirty, dirty_dirs);
        r = scan(dirty, &rep);
        CHECK_MSG(r == 0 && rep.n_violations == 0, "directories named node/python3 are not programs");
        image_policy_report_done(&rep);

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                write_file(test_pathf("%s/%s", dirty, bad[i].path), "x", 0755);
        /* A dangling symlink is found by its name, never followed. */
        CHECK(symlink("/nonexistent/dash", test_pathf("%s/usr/bin/sh", dirty)) == 0);
        /* A symlink to a directory outside is not followed either. */
        CHECK(symlink("/usr", test_pathf("%s/usr/lib/hostusr", dirty)) == 0);
        write_file(test_pathf("%s/usr/bin/suid", dirty), "x", 04755);
        write_file(test_pathf("%s/usr/bin/sgid", dirty), "x", 02755);
        CHECK(mknod(test_pathf("%s/dev/null", dirty), S_IFCHR | 0666, makedev(1, 3)) == 0);
        CHECK(mknod(test_pathf("%s/opt/sda", dirty), S_IFBLK | 0600, makedev(8, 0)) == 0);

        r = scan(dirty, &rep);
        CHECK(r == 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK_MSG(report_has(&rep, test_pathf("/%s", bad[i].path), bad[i].reason),
                          "/%s is refused as %s", bad[i].path, bad[i].reason);
        CHECK_MSG(report_has(&rep, "/usr/bin/sh", "shell"), "a symlinked /usr/bin/sh is found");
        CHECK_MSG(report_has(&rep, "/usr/bin/suid", "setuid"), "a setuid file is found");
        CHECK_MSG(report_has(&rep, "/usr/bin/sgid", "setgid"), "a setgid file is found");
        CHECK_MSG(report_has(&rep, "/dev/null", "character device"), "a character device is found");
        CHECK_MSG(report_has(&rep, "/opt/sda", "block device"), "a block device is found");
        CHECK_MSG(rep.n_violations == ELEMENTSOF(bad) + 5,
                  "every violation is listed once, nothing else (%zu)", rep.n_violations);
        image_policy_report_done(&rep);

        /* Who could change the tree after the check. */
        {
                _cleanup_free_ char *own = strdup(test_pathf("%s/owned", base));
                make_clean_tree(own);
                CHECK(chown(test_pathf("%s/usr/bin/agent", own), 1000, 1000) == 0);
                CHECK(chmod(test_pathf("%s/etc", own), 0777) == 0);
                CHECK(chmod(test_pathf("%s/tmp", own), 01777) == 0);
                CHECK(chown(test_pathf("%s/run", own), 0, 1000) == 0 && chmod(test_pathf("%s/run", own), 0775) == 0);
                CHECK(symlink("agent", test_pathf("%s/usr/bin/link", own)) == 0 &&
                      lchown(test_pathf("%s/usr/bin/link", own), 1000, 1000) == 0);
                r = scan(own, &rep);
                CHECK(r == 0);
                CHECK_MSG(report_has(&rep, "/usr/bin/agent", "owned by a user other than root"), "a file owned by uid 1000 is refused");
                CHECK_MSG(report_has(&rep, "/etc", "writable by every user"), "a world-writable directory is refused");
                CHECK_MSG(report_has(&rep, "/run", "writable by a group"), "a directory writable by another group is refused");
                CHECK_MSG(!report_has(&rep, "/tmp", ""), "a sticky world-writable directory is fine");
                CHECK_MSG(!report_has(&rep, "/usr/bin/link", ""), "a symlink's own owner does not matter");
                CHECK(rep.n_violations == 3);
                image_policy_report_done(&rep);

                {
                        _cleanup_close_ int fd = open(own, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                        CHECK(image_policy_scan(fd, 0, NULL, 0, &rep) == 0);
                        CHECK_MSG(rep.n_violations == 0, "without IMAGE_POLICY_ROOT_OWNED ownership is not looked at");
                        image_policy_report_done(&rep);
                }
                (void) run(test_pathf("rm -rf %s", own));
        }

        /* Hard links: within the tree they are fine, to a file outside it
         * (a host file, or one someone else can still write) they are not;
         * file capabilities are refused like setuid. */
        {
                _cleanup_free_ char *hl = strdup(test_pathf("%s/hardlinks", base));
                /* VFS_CAP_REVISION_2, effective, CAP_NET_RAW permitted */
                static const uint32_t caps[5] = { 0x02000001, 1U << 13, 0, 0, 0 };
                make_clean_tree(hl);
                write_file(test_pathf("%s/usr/bin/inside", hl), "x", 0755);
                CHECK(link(test_pathf("%s/usr/bin/inside", hl), test_pathf("%s/usr/bin/inside-too", hl)) == 0);
                write_file(test_pathf("%s/outside", base), "x", 0644);
                CHECK(link(test_pathf("%s/outside", base), test_pathf("%s/usr/bin/from-outside", hl)) == 0);
                write_file(test_pathf("%s/usr/bin/capped", hl), "x", 0755);
                CHECK(setxattr(test_pathf("%s/usr/bin/capped", hl), "security.capability", caps, sizeof caps, 0) == 0);
                r = scan(hl, &rep);
                CHECK(r == 0);
                CHECK_MSG(report_has(&rep, "/usr/bin/from-outside", "hard link to a file outside"),
                          "a hard link to a file outside the tree is refused");
                CHECK_MSG(!report_has(&rep, "/usr/bin/inside", "") && !report_has(&rep, "/usr/bin/inside-too", ""),
                          "hard links inside the tree are fine");
                CHECK_MSG(report_has(&rep, "/usr/bin/capped", "capabilities"), "a file with capabilities is refused");
                CHECK(rep.n_violations == 2);
                image_policy_report_done(&rep);
                (void) run(test_pathf("rm -rf %s %s/outside", hl, base));
        }

        /* Missing mount points, and one that is a symlink. */
        CHECK(rmdir(test_pathf("%s/workspace", clean)) == 0);
        CHECK(rmdir(test_pathf("%s/proc", clean)) == 0);
        CHECK(symlink("/proc", test_pathf("%s/proc", clean)) == 0);
        r = scan(clean, &rep);
        CHECK(r == 0);
        CHECK_MSG(report_has(&rep, "/workspace", "missing mount point"), "a missing /workspace is named");
        CHECK_MSG(report_has(&rep, "/proc", "not a directory"), "a symlinked /proc is refused");
        CHECK(rep.n_violations == 2);
        image_policy_report_done(&rep);
        CHECK(unlink(test_pathf("%s/proc", clean)) == 0);
        mkdirs(clean, (const char *const[]) { "proc", "workspace", NULL });
}

static void test_digest(void) {
        _cleanup_free_ char *t = strdup(test_pathf("%s/dg", base)), *u = strdup(test_pathf("%s/dg-copy", base));
        char d1[IMAGE_DIGEST_STRING_MAX], d2[IMAGE_DIGEST_STRING_MAX], p[IMAGE_DIGEST_STRING_MAX];

        make_clean_tree(t);
        CHECK(symlink("agent", test_pathf("%s/usr/bin/link", t)) == 0);
        CHECK(image_digest_path(t, d1) == 0);
        CHECK(image_digest_path(t, d2) == 0);
        CHECK_STREQ(d1, d2);
        CHECK_MSG(strncmp(d1, "sha256:", 7) == 0 && strlen(d1) == 71, "digest has the form sha256:HEX (%s)", d1);

        /* A copy made elsewhere, by another owner, at another time: same. */
        CHECK(run(test_pathf("cp -a %s %s && chown -R 1000:1000 %s && touch -d 2001-01-01 %s/usr/bin/agent", t, u, u, u)) == 0);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(streq(d1, d2), "owner and timestamps do not change the digest");

        write_file(test_pathf("%s/usr/bin/agent", u), "\x7f" "ELF pretenD\n", 0755);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(!streq(d1, d2), "changing one byte changes the digest");
        write_file(test_pathf("%s/usr/bin/agent", u), "\x7f" "ELF pretend\n", 0755);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(streq(d1, d2), "changing it back restores the digest");

        CHECK(chmod(test_pathf("%s/usr/bin/agent", u), 0750) == 0);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(!streq(d1, d2), "changing a mode changes the digest");
        CHECK(chmod(test_pathf("%s/usr/bin/agent", u), 0755) == 0);

        write_file(test_pathf("%s/etc/extra", u), "", 0644);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(!streq(d1, d2), "adding an empty file changes the digest");
        CHECK(unlink(test_pathf("%s/etc/extra", u)) == 0);

        CHECK(unlink(test_pathf("%s/usr/bin/link", u)) == 0 && symlink("agenT", test_pathf("%s/usr/bin/link", u)) == 0);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(!streq(d1, d2), "changing a symlink target changes the digest");
        CHECK(unlink(test_pathf("%s/usr/bin/link", u)) == 0 && symlink("agent", test_pathf("%s/usr/bin/link", u)) == 0);

        CHECK(rename(test_pathf("%s/etc", u), test_pathf("%s/etd", u)) == 0);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(!streq(d1, d2), "renaming a directory changes the digest");
        CHECK(rename(test_pathf("%s/etd", u), test_pathf("%s/etc", u)) == 0);
        CHECK(image_digest_path(u, d2) == 0);
        CHECK_MSG(streq(d1, d2), "and renaming it back restores it");

        /* A file's digest is the sha256 of its bytes. */
        write_file(test_pathf("%s/abc", base), "abc", 0644);
        CHECK(image_digest_path(test_pathf("%s/abc", base), d2) == 0);
        CHECK_STREQ(d2, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

        /* The verb operators use prints exactly that, one line. */
        {
                char out[256] = "";
                TestCapture cap = test_capture_begin(STDOUT_FILENO);
                int r1 = verb_digest(2, (char *[]) { (char *) "digest", t, NULL });
                int r2 = verb_digest(1, (char *[]) { (char *) "digest", NULL });
                int r3 = verb_digest(3, (char *[]) { (char *) "digest", t, t, NULL });

                test_capture_end(&cap, out, sizeof out);
                CHECK(r1 == 0);
                CHECK_MSG(strncmp(out, d1, strlen(d1)) == 0 && streq(out + strlen(d1), "\n"),
                          "agent-runtime digest prints the digest and a newline");
                CHECK_MSG(r2 == -EINVAL && r3 == -EINVAL, "agent-runtime digest wants exactly one path");
        }

        CHECK(image_digest_parse("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", p) == 0);
        CHECK_STREQ(p, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        CHECK(image_digest_parse("sha256:ba7816bf", p) == -EINVAL);
        CHECK(image_digest_parse("sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", p) == -EINVAL);
        CHECK(image_digest_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag", p) == -EINVAL);
        CHECK(image_digest_parse("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0", p) == -EINVAL);
}

/* Runs `provision ARGS…` in this process with stderr captured into *ret_err
 * (static buffer). Returns the verb's result. */
static int provision(char **ret_err, ...) {
        static char err[16384];
        char *argv[16] = { (char *) "provision" };
        int argc = 1, r;
        TestCapture cap;
        va_list ap;

        va_start(ap, ret_err);
        for (char *a; (a = va_arg(ap, char *)) && argc < 15;)
                argv[argc++] = a;
        va_end(ap);
        argv[argc] = NULL;

        cap = test_capture_begin(STDERR_FILENO);
        r = verb_provision(argc, argv);
        test_capture_end(&cap, err, sizeof err);
        /* Shown as TAP comments, for whoever reads a failure. */
        test_diag_lines("# ", err);
        *ret_err = err;
        return r;
}

static bool is_mounted(const char *p) {
        struct statx sx = {};
        return statx(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) == 0 &&
               (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static bool exists(const char *p) {
        struct stat st;
        return lstat(p, &st) == 0;
}

static void test_provision(void) {
        _cleanup_free_ char *run_dir = strdup(test_pathf("%s/run", base));
        _cleanup_free_ char *clean = strdup(test_pathf("%s/clean", base)), *dirty = strdup(test_pathf("%s/dirty", base));
        _cleanup_free_ char *mnt = strdup(test_pathf("%s/run/demo/root", base));
        _cleanup_free_ char *agent_dir = strdup(test_pathf("%s/run/demo", base));
        char dclean[IMAGE_DIGEST_STRING_MAX], image_opt[4200], digest_opt[128];
        struct statvfs sv;
        char *err;
        int r, fd;

        setenv("AGENTCAGE_RUNTIME_DIR", run_dir, 1);

        /* Option parsing. */
        snprintf(image_opt, sizeof image_opt, "--image=%s", clean);
        CHECK(provision(&err, "--name=demo", "--name=demo", image_opt, NULL) == -EINVAL);
        CHECK_MSG(strstr(err, "twice"), "a duplicate option is refused");
        CHECK(provision(&err, "--name=demo", image_opt, "--frob", NULL) == -EINVAL);
        CHECK(provision(&err, "--name=demo", image_opt, "extra", NULL) == -EINVAL);
        CHECK(provision(&err, "--name=Demo", image_opt, NULL) == -EINVAL);
        CHECK(provision(&err, "--name=demo-", image_opt, NULL) == -EINVAL);
        CHECK(provision(&err, "--name=-demo", image_opt, NULL) == -EINVAL);
        CHECK(provision(&err, "--name=a234567890123456789012345678901234567890123456789012345678901234", image_opt, NULL) == -EINVAL);
        CHECK(provision(&err, image_opt, NULL) == -EINVAL);
        CHECK(provision(&err, "--name=demo", "--image=rel/path", NULL) == -EINVAL);
        CHECK(provision(&err, "--name=demo", image_opt, "--image-digest=sha256:00", NULL) == -EINVAL);
        CHECK_MSG(!exists(run_dir), "refused options make nothing");

        /* A clean tree is mounted read-only, nosuid, nodev. */
        r = provision(&err, "--name=demo", image_opt, NULL);
        CHECK(r == 0);
        CHECK_MSG(is_mounted(mnt), "the tree is mounted at NAME/root");
        fd = open(test_pathf("%s/new-file", mnt), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK_MSG(fd < 0 && errno == EROFS, "writing into the root fails with EROFS");
        if (fd >= 0)
                close(fd);
        CHECK(statvfs(mnt, &sv) == 0 && (sv.f_flag & ST_RDONLY) && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV));
        CHECK(exists(test_pathf("%s/usr/bin/agent", mnt)));
        {
                struct stat st;
                CHECK_MSG(stat(run_dir, &st) == 0 && (st.st_mode & 07777) == 0700, "the state root is 0700");
                CHECK_MSG(stat(agent_dir, &st) == 0 && (st.st_mode & 07777) == 0700, "the agent's directory is 0700");
        }

        /* A restart finds the old mount and replaces it instead of stacking. */
        r = provision(&err, "--name=demo", image_opt, NULL);
        CHECK(r == 0);
        CHECK(umount2(mnt, 0) == 0);
        CHECK_MSG(!is_mounted(mnt), "a restart does not stack a second mount");
        CHECK(rmdir(mnt) == 0 && rmdir(agent_dir) == 0);

        /* The digest pin. */
        CHECK(image_digest_path(clean, dclean) == 0);
        snprintf(digest_opt, sizeof digest_opt, "--image-digest=%s", dclean);
        CHECK(provision(&err, "--name=demo", image_opt, digest_opt, NULL) == 0);
        CHECK(is_mounted(mnt));
        CHECK(umount2(mnt, 0) == 0 && rmdir(mnt) == 0 && rmdir(agent_dir) == 0);

        snprintf(digest_opt, sizeof digest_opt,
                 "--image-digest=sha256:0000000000000000000000000000000000000000000000000000000000000000");
        r = provision(&err, "--name=demo", image_opt, digest_opt, NULL);
        CHECK(r == -EBADMSG);
        CHECK_MSG(strstr(err, dclean) && strstr(err, "sha256:0000000000"), "a digest mismatch shows both digests");
        CHECK_MSG(!is_mounted(mnt) && !exists(mnt) && !exists(agent_dir), "a digest mismatch leaves nothing behind");

        /* A tree that breaks the policy. */
        snprintf(image_opt, sizeof image_opt, "--image=%s", dirty);
        r = provision(&err, "--name=demo", image_opt, NULL);
        CHECK(r == -EPERM);
        CHECK_MSG(strstr(err, "/bin/sh: a shell"), "the refusal names /bin/sh");
        CHECK_MSG(strstr(err, "/usr/bin/curl: a network tool"), "the refusal names /usr/bin/curl");
        CHECK_MSG(strstr(err, "/usr/bin/suid: a setuid file"), "the refusal names the setuid file");
        CHECK_MSG(strstr(err, "/dev/null: a character device node"), "the refusal names the device node");
        CHECK_MSG(!is_mounted(mnt) && !exists(mnt) && !exists(agent_dir), "a refused tree leaves nothing behind");

        /* A tree others could change after the check is refused. */
        {
                _cleanup_free_ char *open_dir = strdup(test_pathf("%s/open", base));
                _cleanup_free_ char *img = strdup(test_pathf("%s/open/img", base));

                CHECK(mkdir(open_dir, 0777) == 0 && chmod(open_dir, 0777) == 0);
                CHECK(run(test_pathf("cp -a %s %s", clean, img)) == 0);
                snprintf(image_opt, sizeof image_opt, "--image=%s", img);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK(r == -EPERM);
                CHECK_MSG(strstr(err, test_pathf("%s is writable by every user", open_dir)),
                          "an image below a world-writable directory is refused, naming it");
                CHECK_MSG(!exists(agent_dir), "and nothing is made");

                CHECK(chmod(open_dir, 0755) == 0);
                CHECK(chown(test_pathf("%s/usr/bin/agent", img), 1000, 1000) == 0);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK(r == -EPERM);
                CHECK_MSG(strstr(err, "/usr/bin/agent: owned by a user other than root"),
                          "a tree holding a file of uid 1000 is refused, naming it");
                CHECK_MSG(!is_mounted(mnt) && !exists(agent_dir), "and nothing stays mounted");
        }

        /* Bare names are looked up along the image path. */
        {
                char *path = strdup(test_pathf("%s/images-a:%s/images-b", base, base));
                mkdirs(base, (const char *const[]) { "images-a", "images-b", NULL });
                CHECK(run(test_pathf("cp -a %s %s/images-b/good", clean, base)) == 0);
                setenv("AGENTCAGE_IMAGE_PATH", path, 1);
                r = provision(&err, "--name=demo", "--image=good", NULL);
                CHECK_MSG(r == 0 && is_mounted(mnt), "a bare name is found in the second directory");
                CHECK(umount2(mnt, 0) == 0 && rmdir(mnt) == 0 && rmdir(agent_dir) == 0);
                r = provision(&err, "--name=demo", "--image=missing", NULL);
                CHECK(r == -ENOENT);
                CHECK_MSG(strstr(err, test_pathf("%s/images-a/missing.raw", base)) &&
                          strstr(err, test_pathf("%s/images-b/missing.squashfs", base)),
                          "a missing image lists where it was looked for");
                CHECK(provision(&err, "--name=demo", "--image=../etc", NULL) == -EINVAL);
                unsetenv("AGENTCAGE_IMAGE_PATH");
                free(path);
        }

        /* An image file, loop mounted: squashfs and erofs, read-only formats;
         * ext4 (the kernel's ext4 parser in reach of the image's author) is
         * refused before anything is mounted. */
        if (run("command -v mke2fs >/dev/null && command -v mksquashfs >/dev/null && command -v mkfs.erofs >/dev/null") != 0) {
                printf("not ok - mke2fs, mksquashfs and mkfs.erofs are needed to test image files\n");
                tap_n++, tap_failed++;
        } else {
                _cleanup_free_ char *img = strdup(test_pathf("%s/clean.raw", base));
                char d_img[IMAGE_DIGEST_STRING_MAX];

                CHECK(run(test_pathf("mke2fs -q -t ext4 -d %s %s/ext4.raw 8M >/dev/null", clean, base)) == 0);
                snprintf(image_opt, sizeof image_opt, "--image=%s/ext4.raw", base);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK_MSG(r == -EMEDIUMTYPE && strstr(err, "ext2/3/4") && strstr(err, "squashfs or erofs"),
                          "an ext4 image file is refused, naming the formats accepted");
                CHECK_MSG(!exists(agent_dir), "a refused ext4 image makes nothing");
                CHECK(run(test_pathf("mkfs.erofs --quiet %s/clean.erofs %s >/dev/null 2>&1", base, clean)) == 0);
                snprintf(image_opt, sizeof image_opt, "--image=%s/clean.erofs", base);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK_MSG(r == 0 && is_mounted(mnt), "an erofs image file is loop mounted");
                CHECK(umount2(mnt, 0) == 0 && rmdir(mnt) == 0 && rmdir(agent_dir) == 0);

                CHECK(run(test_pathf("mksquashfs %s %s -quiet -noappend >/dev/null", clean, img)) == 0);
                CHECK(image_digest_path(img, d_img) == 0);
                snprintf(image_opt, sizeof image_opt, "--image=%s", img);
                snprintf(digest_opt, sizeof digest_opt, "--image-digest=%s", d_img);
                r = provision(&err, "--name=demo", image_opt, digest_opt, NULL);
                CHECK_MSG(r == 0 && is_mounted(mnt), "a squashfs image file is loop mounted");
                fd = open(test_pathf("%s/new-file", mnt), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                CHECK_MSG(fd < 0 && errno == EROFS, "the loop mount is read-only");
                if (fd >= 0)
                        close(fd);
                CHECK(run(test_pathf("losetup -j %s | grep -q loop", img)) == 0);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK_MSG(r == 0, "a restart with an image file works");
                CHECK(umount2(mnt, 0) == 0 && !is_mounted(mnt));
                CHECK(rmdir(mnt) == 0 && rmdir(agent_dir) == 0);
                /* autoclear: no loop device is left on the file (the kernel
                 * may take a moment to release it). */
                r = 1;
                for (int i = 0; i < 50 && r == 1; i++) {
                        r = run(test_pathf("losetup -j %s | grep -q loop", img)) == 0;
                        if (r)
                                usleep(100 * 1000);
                }
                CHECK_MSG(r == 0, "the loop device goes with the mount");

                snprintf(digest_opt, sizeof digest_opt,
                         "--image-digest=sha256:1111111111111111111111111111111111111111111111111111111111111111");
                r = provision(&err, "--name=demo", image_opt, digest_opt, NULL);
                CHECK_MSG(r == -EBADMSG && !exists(agent_dir), "an image file with the wrong digest is refused before mounting");

                CHECK(run(test_pathf("mksquashfs %s %s/dirty.raw -quiet -noappend >/dev/null", dirty, base)) == 0);
                snprintf(image_opt, sizeof image_opt, "--image=%s/dirty.raw", base);
                r = provision(&err, "--name=demo", image_opt, NULL);
                CHECK(r == -EPERM);
                CHECK_MSG(strstr(err, "/bin/sh: a shell"), "a bad image file names /bin/sh");
                CHECK_MSG(!is_mounted(mnt) && !exists(agent_dir), "a refused image file leaves nothing mounted");
        }

}

int main(void) {
        if (geteuid() != 0) {
                printf("Bail out! test-provision needs root (mounts, mknod)\n");
                return 1;
        }
        /* Everything this test mounts stays in its own mount namespace. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                printf("Bail out! cannot make a private mount namespace: %m\n");
                return 1;
        }
        if (!mkdtemp(base)) {
                printf("Bail out! mkdtemp: %m\n");
                return 1;
        }

        test_policy();
        test_digest();
        test_provision();

        (void) run(test_pathf("rm -rf --one-file-system %s", base));
        return tap_finish();
}
