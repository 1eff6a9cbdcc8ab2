/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image cache (oci-cache.c) and the helper runner (oci-run.c): metadata
 * round trip, listing, matching of definitions to entries, removal, a
 * read-only cache, a damaged metadata file, the runner's exit statuses,
 * output bounds and unprivileged mode. */

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "oci.h"
#include "tap.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"

static char dir[] = "/tmp/test-oci-cache.XXXXXX";

static void put_image(const char *digest, const char *reference) {
        char path[512], stem[IMAGE_REF_DIGEST_STRING_MAX];
        OciEntry e = {};
        int fd;

        oci_digest_stem(digest, stem);
        snprintf(path, sizeof path, "%s/%s.squashfs", dir, stem);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0 && write(fd, "image", 5) == 5);
        close(fd);
        snprintf(e.digest, sizeof e.digest, "%s", digest);
        CHECK(oci_cache_touch(&e, reference, NULL) == 0);
        oci_entry_done(&e);
}

static void test_cache(void) {
        OciEntry e = {}, *v = NULL;
        size_t n = 0;
        char path[512];
        int fd;

        CHECK(oci_cache_list(&v, &n) == 0 && n == 0);
        CHECK(oci_cache_get(D1, &e) == 0);
        put_image(D2, "oci-archive:/srv/b.tar");
        put_image(D1, "docker://r.example.com/a@" D1);

        CHECK(oci_cache_get(D1, &e) == 1);
        CHECK_STREQ(e.references ? e.references[0] : NULL, "docker://r.example.com/a@" D1);
        CHECK(e.size == 5 && e.created > 0 && e.last_used >= e.created);
        /* a second reference is added once, a source likewise */
        CHECK(oci_cache_touch(&e, "docker://r.example.com/a@" D1, "sha256:ab") == 0);
        CHECK(oci_cache_touch(&e, "docker://mirror.example.com/a@" D1, "sha256:ab") == 0);
        oci_entry_done(&e);
        CHECK(oci_cache_get(D1, &e) == 1);
        CHECK(e.references && e.references[1] && !e.references[2]);
        CHECK(e.sources && streq(e.sources[0], "sha256:ab") && !e.sources[1]);

        /* matching: a reference the entry was accepted under, not merely the
         * same digest elsewhere */
        CHECK(oci_entry_matches(&e, "docker://mirror.example.com/a@" D1));
        CHECK(!oci_entry_matches(&e, "docker://other.example.com/x/y@" D1));
        CHECK(!oci_entry_matches(&e, "docker://r.example.com/a@" D2));
        CHECK(!oci_entry_matches(&e, "oci:/srv/a"));
        CHECK(!oci_entry_matches(&e, "/srv/a"));
        oci_entry_done(&e);

        CHECK(oci_cache_find_source("docker://r.example.com/a@" D1, "sha256:ab", &e) == 1);
        oci_entry_done(&e);
        CHECK(oci_cache_find_source("docker://r.example.com/a@" D1, "sha256:cd", &e) == 0);
        CHECK(oci_cache_find_source("oci-archive:/srv/other.tar", "sha256:ab", &e) == 0);

        /* listing is sorted and ignores what is not an entry */
        snprintf(path, sizeof path, "%s/sha256-zz.squashfs", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        close(fd);
        snprintf(path, sizeof path, "%s/.sha256-1111111111111111111111111111111111111111111111111111111111111111.squashfs.tmp", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        close(fd);
        CHECK(oci_cache_list(&v, &n) == 0 && n == 2);
        if (n == 2) {
                CHECK_STREQ(v[0].digest, D1);
                CHECK_STREQ(v[1].digest, D2);
        }
        oci_entries_free(v, n);

        /* damaged metadata: the entry still exists, without references */
        snprintf(path, sizeof path, "%s/sha256-%s.json", dir, D2 + 7);
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        CHECK(fd >= 0 && write(fd, "{\"references\": [1, 2", 20) == 20);
        close(fd);
        CHECK(oci_cache_get(D2, &e) == 1 && !e.references);
        oci_entry_done(&e);

        CHECK(oci_cache_remove(D2) == 0);
        CHECK(oci_cache_get(D2, &e) == 0);
        CHECK(oci_cache_list(&v, &n) == 0 && n == 1);
        oci_entries_free(v, n);
}

static void test_read_only(void) {
        OciEntry e = {};
        int fd;

        fd = oci_cache_lock(D1);
        CHECK(fd >= 0);
        close(fd);
        /* A read-only bind mount of the cache, as ProtectSystem=strict makes it. */
        if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount(dir, dir, NULL, MS_BIND, NULL) < 0 ||
            mount(NULL, dir, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) {
                printf("ok %d - # SKIP read-only cache: needs root and a mount namespace\n", ++tap_n);
                return;
        }
        CHECK(oci_cache_lock(D1) == -EROFS);
        CHECK(oci_cache_lock(D2) == -EROFS);
        CHECK(oci_cache_get(D1, &e) == 1);
        CHECK(oci_cache_touch(&e, "docker://r.example.com/a@" D1, NULL) == -EROFS);
        oci_entry_done(&e);
        CHECK(umount2(dir, MNT_DETACH) == 0);
}

static void test_run(void) {
        char *out = NULL;
        char *const t[] = { (char *) "/bin/true", NULL };
        char *const f[] = { (char *) "/bin/sh", (char *) "-c", (char *) "printf 'a\\033[2Jb\\n'; exit 7", NULL };
        char *const big[] = { (char *) "/bin/sh", (char *) "-c", (char *) "head -c 100000 /dev/zero | tr '\\0' x", NULL };
        char *const id[] = { (char *) "/usr/bin/id", (char *) "-u", NULL };
        char *const env[] = { (char *) "/usr/bin/env", NULL };
        char *const missing[] = { (char *) "/nonexistent/helper", NULL };
        char want[32];

        CHECK(oci_run(&(OciCommand) { .argv = t, .cwd_fd = -1 }, &out) == 0);
        free(out);
        CHECK(oci_run(&(OciCommand) { .argv = f, .cwd_fd = -1 }, &out) == 7);
        CHECK_STREQ(out, "a?[2Jb");
        free(out);
        CHECK(oci_run(&(OciCommand) { .argv = big, .cwd_fd = -1 }, &out) == 0);
        CHECK(out && strlen(out) == OCI_OUTPUT_MAX);
        free(out);
        CHECK(oci_run(&(OciCommand) { .argv = missing, .cwd_fd = -1 }, &out) == 127);
        free(out);
        setenv("AGENTCAGE_SECRET_TEST", "leak", 1);
        CHECK(oci_run(&(OciCommand) { .argv = env, .cwd_fd = -1 }, &out) == 0);
        CHECK(out && !strstr(out, "leak") && strstr(out, "PATH="));
        free(out);
        if (geteuid() == 0) {
                snprintf(want, sizeof want, "%u", (unsigned) OCI_UNPACK_UID);
                CHECK(oci_run(&(OciCommand) { .argv = id, .cwd_fd = -1, .unprivileged = true }, &out) == 0);
                CHECK_STREQ(out, want);
                free(out);
                {
                        char *const links[] = { (char *) "/bin/cat", (char *) "/proc/self/net/dev", NULL };
                        CHECK(oci_run(&(OciCommand) { .argv = links, .cwd_fd = -1, .unprivileged = true }, &out) == 0);
                        /* a fresh network namespace: loopback only */
                        CHECK(out && strstr(out, "lo:") && !strstr(out, "eth") && !strstr(out, "ens"));
                        free(out);
                }
        }
}

int main(void) {
        if (!mkdtemp(dir))
                return 1;
        setenv("AGENTCAGE_OCI_DIR", dir, 1);
        CHECK_STREQ(oci_cache_dir(), dir);
        test_cache();
        test_run();
        test_read_only();
        setenv("AGENTCAGE_OCI_DIR", "relative/dir", 1);
        CHECK_STREQ(oci_cache_dir(), OCI_CACHE_DIR_DEFAULT);
        setenv("AGENTCAGE_OCI_DIR", "/a/../b", 1);
        CHECK_STREQ(oci_cache_dir(), OCI_CACHE_DIR_DEFAULT);
        {
                char cmd[128];
                snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
                if (system(cmd) != 0)
                        printf("# could not remove %s\n", dir);
        }
        return tap_finish();
}
