/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Recycle and the configure failure path: a full fake agent state (filter,
 * agent.state, staged secrets, stacked image mounts, stale temp files) is
 * removed completely, twice in a row, while the agent's user-namespace
 * lease stays its own; another agent's state is never touched; an unknown mount below the agent's directory is never emptied
 * and makes recycle fail loudly; a configure that fails half-way (here:
 * no device-mapper, or no seccomp policy built in) leaves no lease, no
 * mount and no loop device. Needs root. */

#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "agent-state.h"
#include "configure.h"
#include "fs-util.h"
#include "log.h"
#include "runtime.h"
#include "tap.h"
#include "test-util.h"

static char tmp[256];
static char root[300], state[300], lease_dir[400];

/* Whether ROOT/NAME[/SUB] exists. */
static bool exists(const char *name, const char *sub) {
        char p[600];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s%s%s", root, name, sub ? "/" : "", sub ? sub : "");
        return lstat(p, &st) >= 0;
}

static void touch(const char *p, const char *content, mode_t mode) {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0 || write(fd, content, strlen(content)) != (ssize_t) strlen(content))
                abort();
        close(fd);
}

/* Whether a loop device is still backed by NAME's workspace memory. */
static bool loop_left(const char *name) {
        char want[200], line[512];
        glob_t g = {};
        bool found = false;

        snprintf(want, sizeof want, "/memfd:agentcage-workspace-%s (deleted)\n", name);
        if (glob("/sys/block/loop*/loop/backing_file", 0, NULL, &g) == 0)
                for (size_t i = 0; i < g.gl_pathc; i++) {
                        FILE *f = fopen(g.gl_pathv[i], "re");
                        if (f && fgets(line, sizeof line, f) && streq(line, want))
                                found = true;
                        if (f)
                                fclose(f);
                }
        globfree(&g);
        return found;
}

static void make_state(const char *name, const char *image_src) {
        char dir[400], p[500], src[400];
        uint32_t base;
        bool reused;

        snprintf(dir, sizeof dir, "%s/%s", root, name);
        CHECK(mkdir(dir, 0700) == 0);
        {
                UsernsPool pool;
                _cleanup_free_ char *d = NULL;
                AgentStateInfo info = { .userns_base = 0, .image = (char *) "demo" };
                CHECK(userns_pool_default(&pool, &d) == 0);
                pool.check_nss = false;
                CHECK(userns_lease_acquire(&pool, name, &base, &reused) == 0);
                info.userns_base = base;
                CHECK(agent_state_info_write(name, &info) == 0);
        }
        CHECK(write_file_atomic(dir, "seccomp.bpf", "\0\0\0\0\0\0\0\0", 8, 0444) == 0);
        snprintf(p, sizeof p, "%s/.#agent.state.tmp", dir);
        touch(p, "half", 0600);

        snprintf(src, sizeof src, "%s/secret-src", tmp);
        touch(src, "value", 0600);
        snprintf(p, sizeof p, "%s/secrets", dir);
        {
                SecretSpec s = { (char *) "tok", src };
                CHECK(secrets_stage(p, &s, 1, base + 1000) == 0);
        }

        /* provision's mount, stacked twice (a restart raced a leftover) */
        snprintf(p, sizeof p, "%s/root", dir);
        CHECK(mkdir(p, 0755) == 0);
        CHECK(mount(image_src, p, NULL, MS_BIND, NULL) == 0);
        CHECK(mount(image_src, p, NULL, MS_BIND, NULL) == 0);

        snprintf(p, sizeof p, "%s/tmp", dir);
        CHECK(tmp_setup(p, 1024 * 1024, base) == 0);

        /* a workspace directory whose mount never happened */
        snprintf(p, sizeof p, "%s/workspace", dir);
        CHECK(mkdir(p, 0700) == 0);
}

static void test_full_state(void) {
        char image[400], keep[500];
        uint32_t base, demo_base;

        snprintf(image, sizeof image, "%s/image", tmp);
        CHECK(mkdir(image, 0755) == 0);
        snprintf(keep, sizeof keep, "%s/usr-file", image);
        touch(keep, "image content", 0644);
        make_state("demo", image);
        CHECK(userns_lease_find(lease_dir, "demo", &demo_base) == 0);
        /* a neighbour that must survive */
        make_state("other", image);

        CHECK(agent_teardown("demo", true) == 0);
        CHECK(!exists("demo", NULL));
        CHECK_MSG(userns_lease_find(lease_dir, "demo", &base) == 0 && base == demo_base,
                  "recycle keeps the agent's range: it is the agent's for good");
        CHECK_MSG(access(keep, F_OK) == 0, "the image behind the root mount is untouched");
        CHECK(exists("other", "secrets/tok") && exists("other", "agent.state"));
        CHECK(exists("other", "tmp"));
        CHECK(userns_lease_find(lease_dir, "other", &base) == 0);

        CHECK_MSG(agent_teardown("demo", true) == 0, "recycling twice succeeds");

        /* configure's pre-clean: keeps root mount and lease, drops the rest */
        CHECK(agent_teardown("other", false) == 0);
        CHECK(!exists("other", "secrets") && !exists("other", "agent.state") &&
              !exists("other", "tmp") &&
              !exists("other", "seccomp.bpf") && !exists("other", "workspace"));
        CHECK(exists("other", "root/usr-file"));
        CHECK(userns_lease_find(lease_dir, "other", &base) == 0);

        /* and through the verb, as ExecStopPost= runs it */
        {
                char *argv[] = { (char *) "recycle", (char *) "--name=other", NULL };
                CHECK(verb_recycle(2, argv) == 0);
                CHECK(!exists("other", NULL));
                CHECK(userns_lease_find(lease_dir, "other", &base) == 0);
                CHECK(verb_recycle(2, argv) == 0);
                char *argv2[] = { (char *) "recycle", (char *) "--name=never-existed", NULL };
                CHECK(verb_recycle(2, argv2) == 0);
        }
        CHECK(access(keep, F_OK) == 0);
}

static void test_tmp(void) {
        char d[400];
        struct statvfs sv;
        struct stat st;

        snprintf(d, sizeof d, "%s/tmp-check", root);
        CHECK(tmp_setup(d, 4 * 1024 * 1024, 0x70000000U) == 0);
        CHECK(path_is_mount_point(d) == 1);
        CHECK(statvfs(d, &sv) == 0 && (sv.f_flag & ST_NOSUID) && (sv.f_flag & ST_NODEV) && (sv.f_flag & ST_NOEXEC));
        CHECK_MSG(sv.f_blocks * sv.f_frsize == 4 * 1024 * 1024, "tmpfs has the requested size");
        CHECK(stat(d, &st) == 0 && (st.st_mode & 07777) == 01777 && st.st_uid == 0x70000000U);
        CHECK(tmp_remove(d) == 1);
        CHECK(access(d, F_OK) < 0);
        CHECK(tmp_remove(d) == 0);
        CHECK(tmp_setup(d, 1000, 0) < 0 && access(d, F_OK) < 0);
}

static void test_unknown_mount(void) {
        char dir[400], p[500], image[400], keep[500];

        snprintf(image, sizeof image, "%s/image", tmp);
        snprintf(keep, sizeof keep, "%s/usr-file", image);
        snprintf(dir, sizeof dir, "%s/stuck", root);
        CHECK(mkdir(dir, 0700) == 0);
        snprintf(p, sizeof p, "%s/unexpected", dir);
        CHECK(mkdir(p, 0700) == 0);
        CHECK(mount(image, p, NULL, MS_BIND, NULL) == 0);

        CHECK_MSG(agent_teardown("stuck", true) < 0, "a mount recycle does not know makes it fail");
        CHECK_MSG(access(keep, F_OK) == 0, "and what is mounted there is not deleted");
        CHECK(umount2(p, 0) == 0);
        CHECK(agent_teardown("stuck", true) == 0);
        CHECK(!exists("stuck", NULL));
}

static void test_failed_configure(void) {
        char src[400], opt[500];
        int r;

        snprintf(src, sizeof src, "%s/secret-src", tmp);
        snprintf(opt, sizeof opt, "--secret=tok=%s", src);

        char *argv[] = { (char *) "configure", (char *) "--name=half", (char *) "--uid=1000",
                         (char *) "--workspace-size=8388608", (char *) "--tmp-size=1048576", opt, NULL };
        r = verb_configure(6, argv);
        if (r >= 0) {
                /* A machine with device-mapper and the seccomp policy: it worked. */
                CHECK(exists("half", "seccomp.bpf"));
                CHECK(exists("half", "secrets/tok"));
        } else {
                CHECK(!exists("half", "secrets") && !exists("half", "workspace") &&
                      !exists("half", "tmp") && !exists("half", "seccomp.bpf"));
                CHECK(!loop_left("half"));
        }
        {
                char *rargv[] = { (char *) "recycle", (char *) "--name=half", NULL };
                CHECK(verb_recycle(2, rargv) == 0);
        }
        CHECK(!exists("half", NULL));
        CHECK(!loop_left("half"));

        /* the workspace alone; without device-mapper it fails after the loop
         * device was attached, which must be detached again */
        {
                char ws[400];
                snprintf(ws, sizeof ws, "%s/ws-test", root);
                r = workspace_setup("wstest", ws, 16 * 1024 * 1024, 0x70000000U + 1000);
                if (r >= 0) {
                        CHECK(path_is_mount_point(ws) == 1);
                        CHECK(workspace_teardown("wstest", ws) == 1);
                } else
                        CHECK_MSG(r < 0, "workspace set-up failed here (%s), checking its cleanup", strerror(-r));
                CHECK(!loop_left("wstest"));
                CHECK(access(ws, F_OK) < 0);
                CHECK(workspace_teardown("wstest", ws) == 0);
        }
        /* a size larger than the machine is refused up front */
        {
                char ws[400];
                snprintf(ws, sizeof ws, "%s/ws-huge", root);
                CHECK(workspace_setup("wshuge", ws, WORKSPACE_SIZE_MAX, 0) == -E2BIG);
                CHECK(!loop_left("wshuge") && access(ws, F_OK) < 0);
        }
}

int main(void) {
        char cmd[400];

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root to mount\n");
                return 0;
        }
        log_set_max_level(getenv("TEST_VERBOSE") ? LOG_DEBUG : LOG_CRIT);
        /* Not below /tmp: secret sources there are refused by design. */
        if (test_make_base_dir(tmp, sizeof tmp, "test-recycle") < 0)
                return 1;
        snprintf(root, sizeof root, "%s/run", tmp);
        if (mkdir(root, 0755) < 0)
                return 1;
        snprintf(state, sizeof state, "%s/state", tmp);
        snprintf(lease_dir, sizeof lease_dir, "%s/userns", state);
        if (setenv("AGENTCAGE_RUNTIME_DIR", root, 1) < 0 || setenv("AGENTCAGE_STATE_DIR", state, 1) < 0)
                return 1;

        test_full_state();
        test_tmp();
        test_unknown_mount();
        test_failed_configure();

        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp);
        CHECK(system(cmd) == 0);
        return tap_finish();
}
