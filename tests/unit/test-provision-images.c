/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The image trees the build makes (demo and probe): the approved-image policy
 * accepts them, they hold nothing but the mount points and one static
 * binary; the demo agent ticks, notifies and stops on SIGTERM; the probe,
 * run under agent-init as PID 1 of a new PID namespace, prints its table and
 * one well-formed JSON report.
 *
 * argv: DEMO-TREE PROBE-TREE DEMO-AGENT AGENT-PROBE AGENT-INIT */

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "runtime.h"
#include "tap.h"
#include "test-util.h"

static char dir[] = "/tmp/test-images.XXXXXX";

typedef struct TreeCount {
        unsigned dirs, files, other;
        char file[256];
} TreeCount;

static int count_visit(const TreeEntry *e, void *userdata) {
        TreeCount *c = userdata;

        if (S_ISDIR(e->st->st_mode))
                c->dirs++;
        else if (S_ISREG(e->st->st_mode)) {
                c->files++;
                snprintf(c->file, sizeof c->file, "%s", e->path);
        } else
                c->other++;
        return 0;
}

/* A static executable has no PT_INTERP program header. */
static int elf_is_static(const char *path) {
        Elf64_Ehdr eh;
        int fd = open(path, O_RDONLY | O_CLOEXEC), r = 1;

        if (fd < 0)
                return -errno;
        if (pread(fd, &eh, sizeof eh, 0) != sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) {
                close(fd);
                return -EBADMSG;
        }
        for (unsigned i = 0; i < eh.e_phnum; i++) {
                Elf64_Phdr ph;
                if (pread(fd, &ph, sizeof ph, (off_t) (eh.e_phoff + (Elf64_Off) i * eh.e_phentsize)) != sizeof ph) {
                        r = -EBADMSG;
                        break;
                }
                if (ph.p_type == PT_INTERP) {
                        r = 0;
                        break;
                }
        }
        close(fd);
        return r;
}

static void test_tree(const char *tree, const char *binary_name) {
        _cleanup_close_ int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ImagePolicyReport rep = {};
        TreeCount c = {};
        char expected[300], bin[4200];

        CHECK_MSG(fd >= 0, "%s exists", tree);
        if (fd < 0)
                return;
        CHECK(image_policy_scan(fd, IMAGE_POLICY_ROOT_OWNED, NULL, 0, &rep) == 0);
        for (size_t i = 0; i < rep.n_violations; i++)
                printf("#   %s: %s\n", rep.violations[i].path, rep.violations[i].reason);
        CHECK_MSG(rep.n_violations == 0, "the policy accepts %s", tree);
        image_policy_report_done(&rep);

        CHECK(tree_walk(fd, count_visit, &c) == 0);
        snprintf(expected, sizeof expected, "usr/bin/%s", binary_name);
        CHECK_MSG(c.dirs == 11 && c.files == 1 && c.other == 0,
                  "%s holds the mount points and one file (%u dirs, %u files, %u other)", tree, c.dirs, c.files, c.other);
        CHECK_STREQ(c.file, expected);
        snprintf(bin, sizeof bin, "%s/%s", tree, expected);
        CHECK_MSG(elf_is_static(bin) == 1, "%.300s is a static executable", bin);
}

static pid_t spawn(const char *const argv[], const char *notify_socket, int *ret_out, bool new_pidns) {
        int p[2];
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        fflush(stdout);
        pid = new_pidns ? (pid_t) syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL) : fork();
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                dup2(p[1], STDERR_FILENO);
                if (notify_socket)
                        setenv("NOTIFY_SOCKET", notify_socket, 1);
                else
                        unsetenv("NOTIFY_SOCKET");
                execv(argv[0], (char **) argv);
                _exit(99);
        }
        close(p[1]);
        *ret_out = p[0];
        return pid;
}

static int wait_exit(pid_t pid) {
        int status;
        if (waitpid(pid, &status, 0) != pid)
                return -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_demo(const char *demo) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char notify_path[200], msgs[512] = "", line[256];
        const char *out;
        int out_fd, ns, rc;
        size_t used = 0;
        pid_t pid;

        snprintf(notify_path, sizeof notify_path, "%s/notify", dir);
        snprintf(sa.sun_path, sizeof sa.sun_path, "%.100s", notify_path);
        ns = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        CHECK(ns >= 0 && bind(ns, (struct sockaddr *) &sa, sizeof sa) == 0);

        pid = spawn((const char *const[]) { demo, "--interval", "1", "--count=2", NULL }, notify_path, &out_fd, false);
        out = test_read_all(out_fd);
        close(out_fd);
        rc = wait_exit(pid);
        test_diag_lines("#   | ", out);
        CHECK_MSG(rc == 0 && strstr(out, "tick 1\n") && strstr(out, "tick 2\n") && !strstr(out, "tick 3"),
                  "demo-agent --count=2 prints two ticks and exits 0 (%d)", rc);
        for (;;) {
                ssize_t k = recv(ns, line, sizeof line - 1, 0);
                if (k <= 0)
                        break;
                line[k] = '\0';
                used += (size_t) snprintf(msgs + used, sizeof msgs - used, "%s;", line);
                if (used >= sizeof msgs)
                        break;
        }
        printf("# notifications: %s\n", msgs);
        CHECK_MSG(strstr(msgs, "READY=1;") && strstr(msgs, "WATCHDOG=1;"), "demo-agent sends READY=1 and WATCHDOG=1");
        close(ns);

        pid = spawn((const char *const[]) { demo, "--interval=60", NULL }, NULL, &out_fd, false);
        /* Wait for the first tick, then stop it. */
        {
                char b[512];
                size_t n = 0;
                while (n < sizeof b - 1) {
                        ssize_t k = read(out_fd, b + n, sizeof b - 1 - n);
                        if (k <= 0)
                                break;
                        n += (size_t) k;
                        b[n] = '\0';
                        if (strstr(b, "tick 1\n"))
                                break;
                }
        }
        CHECK(kill(pid, SIGTERM) == 0);
        out = test_read_all(out_fd);
        close(out_fd);
        rc = wait_exit(pid);
        CHECK_MSG(rc == 0 && strstr(out, "asked to stop"), "demo-agent exits 0 on SIGTERM (%d)", rc);

        pid = spawn((const char *const[]) { demo, "--interval=0", NULL }, NULL, &out_fd, false);
        (void) test_read_all(out_fd);
        close(out_fd);
        CHECK_MSG(wait_exit(pid) == 2, "demo-agent refuses --interval=0");
}

static void test_probe(const char *probe, const char *init) {
        char fopt[300], probe_copy[300], init_copy[300], json_path[300], cmd[1200];
        const char *out, *json, *nl;
        scmp_filter_ctx ctx;
        int out_fd, rc, fd;
        unsigned rows = 0;
        pid_t pid;
        FILE *f;

        /* Readable and executable for uid 65534 whatever the build dir is. */
        snprintf(probe_copy, sizeof probe_copy, "%s/agent-probe", dir);
        snprintf(init_copy, sizeof init_copy, "%s/agent-init", dir);
        snprintf(cmd, sizeof cmd, "install -m 0755 '%s' '%s' && install -m 0755 '%s' '%s'",
                 probe, probe_copy, init, init_copy);
        CHECK(system(cmd) == 0);

        /* The real allow-list is tested elsewhere; this is about the report. */
        snprintf(fopt, sizeof fopt, "--seccomp-filter=%s/allow.bpf", dir);
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        fd = open(fopt + strlen("--seccomp-filter="), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(ctx && fd >= 0 && seccomp_export_bpf(ctx, fd) == 0);
        if (fd >= 0)
                close(fd);
        seccomp_release(ctx);

        pid = spawn((const char *const[]) { init_copy, "--uid=65534", "--apparmor=optional", fopt, "--", probe_copy, NULL }, NULL, &out_fd, true);
        out = test_read_all(out_fd);
        close(out_fd);
        rc = wait_exit(pid);
        printf("# probe exited %d\n", rc);

        for (const char *l = out; *l; l = nl ? nl + 1 : l + strlen(l)) {
                nl = strchr(l, '\n');
                printf("#   | %.*s\n", nl ? (int) (nl - l) : (int) strlen(l), l);
                if (strstr(l, " | ") && (strstr(l, "| PASS") || strstr(l, "| FAIL")) && l < (nl ? nl : l + strlen(l)))
                        rows++;
        }
        CHECK_MSG(rows >= 30, "the probe prints at least 30 attempt rows (%u)", rows);
        CHECK_MSG(rc >= 0 && rc < 126, "the probe's exit status counts failures (%d)", rc);

        json = strstr(out, "\n{\"probe\":");
        CHECK_MSG(json, "the probe prints a JSON report line");
        if (!json)
                return;
        json++;
        nl = strchr(json, '\n');
        snprintf(json_path, sizeof json_path, "%s/report.json", dir);
        f = fopen(json_path, "we");
        CHECK(f && fwrite(json, 1, nl ? (size_t) (nl - json) : strlen(json), f) > 0 && fclose(f) == 0);
        snprintf(cmd, sizeof cmd,
                 "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                 "assert d[\"uid\"]==65534 and d[\"no_new_privs\"]==1 and d[\"seccomp\"]==2, d; "
                 "assert d[\"caps\"][\"CapEff\"]==\"0000000000000000\"; "
                 "assert d[\"attempted\"]>=30 and d[\"failed\"]==sum(not a[\"pass\"] for a in d[\"attempts\"]); "
                 "assert \"/\" in d[\"mounts\"] and isinstance(d[\"pids\"], list) and isinstance(d[\"env\"], list)' %s",
                 json_path);
        CHECK_MSG(system(cmd) == 0, "the JSON report parses and holds ids, caps, mounts, attempts");
        snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d[\"failed\"])' %s", json_path);
        rc = system(cmd);
        (void) rc;
}

int main(int argc, char *argv[]) {
        char cmd[300];

        if (argc != 6) {
                printf("Bail out! usage: test-provision-images DEMO-TREE PROBE-TREE DEMO-AGENT AGENT-PROBE AGENT-INIT\n");
                return 1;
        }
        if (test_root_scratch_dir("agent-init changes uid", dir, 0755) < 0)
                return 1;

        test_tree(argv[1], "demo-agent");
        test_tree(argv[2], "agent-probe");
        test_demo(argv[3]);
        test_probe(argv[4], argv[5]);

        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void) !system(cmd);
        return tap_finish();
}
