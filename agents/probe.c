/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-probe [--fork-bomb] [--memory-bomb] [--fill] [--all] [--linger=SECONDS] [--fork-hold]
 *
 * Run as an agent, it reports what the agent sees and tries to break out.
 *
 * First it prints a table, one row per attempt:
 *     ATTEMPT | EXPECTED | RESULT | PASS/FAIL
 * then ONE line of JSON (starting with {"probe":) holding what it saw (ids,
 * capability sets, no-new-privs, seccomp mode, AppArmor label, mount options
 * of /, /tmp, /workspace, /run/secrets, network interfaces, visible PIDs,
 * the files under /run/secrets — never their content — and the environment)
 * and every attempt again. The exit status is the number of attempts whose
 * expectation failed: 0 means every escape was blocked.
 *
 * Every attempt runs in a child process, so that one which unexpectedly
 * succeeds (unshare, a new keyring, ptrace) changes nothing for the next, and
 * one the seccomp filter kills (SIGSYS) only kills that child.
 *
 * The expensive ones are opt-in: --fork-bomb (forks until the tasks limit
 * says EAGAIN), --memory-bomb (a child allocates until the memory limit
 * kills it or malloc fails), --fill (writes /workspace and /tmp until
 * ENOSPC). --all turns on all three. --linger=SECONDS keeps the probe
 * running after the report (so the machine can be looked at), ending early
 * on SIGTERM. --fork-hold, after the report, forks until the tasks limit
 * says no and keeps every child (for a health check to be starved of). The
 * floor as the policy states it (exact errnos) is tried in probe-floor.c. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/bpf.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/userfaultfd.h>
#include <dirent.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define ATTEMPTS_MAX 160
#define FORK_BOMB_MAX 20000
#define MEMORY_BOMB_MAX (64ULL << 30)
/* A workspace bigger than this is reported as unlimited: a probe must never
 * fill a host disk because a mount was missing. */
#define FILL_MAX (8ULL << 30)

typedef struct Attempt {
        const char *name;
        const char *expected;
        char result[160];
        bool pass;
} Attempt;

static Attempt attempts[ATTEMPTS_MAX];
static size_t n_attempts;
static volatile sig_atomic_t stop_requested;

static bool arg_fork_bomb, arg_memory_bomb, arg_fill, arg_fork_hold;
static unsigned long arg_linger;

static void on_term(int sig) {
        (void) sig;
        stop_requested = 1;
}

/* --- output ------------------------------------------------------------- */

void record(const char *name, const char *expected, bool pass, const char *fmt, ...) {
        Attempt *a;
        va_list ap;

        if (n_attempts >= ATTEMPTS_MAX)
                return;
        a = &attempts[n_attempts++];
        a->name = name;
        a->expected = expected;
        a->pass = pass;
        va_start(ap, fmt);
        vsnprintf(a->result, sizeof a->result, fmt, ap);
        va_end(ap);
        printf("%-40s | %-22s | %-40s | %s\n", a->name, a->expected, a->result, pass ? "PASS" : "FAIL");
        fflush(stdout);
}

static void json_string(FILE *f, const char *s) {
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", f);
                else if (*p == '\t')
                        fputs("\\t", f);
                else if (*p < 0x20 || *p == 0x7f)
                        fprintf(f, "\\u%04x", *p);
                else
                        fputc(*p, f);
        }
        fputc('"', f);
}

const char *errno_name(int e) {
        const char *n = strerrorname_np(e);
        return n ? n : "E?";
}

/* --- small readers -------------------------------------------------------- */

static char *read_text(const char *path, size_t max) {
        char *buf = calloc(1, max + 1);
        ssize_t n;
        int fd;

        if (!buf)
                return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                free(buf);
                return NULL;
        }
        n = read(fd, buf, max);
        close(fd);
        if (n < 0) {
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
                buf[--n] = '\0';
        return buf;
}

/* The value of "Key:" in /proc/self/status, whitespace trimmed. */
static bool status_field(const char *key, char *out, size_t size) {
        char line[512];
        size_t k = strlen(key);
        bool found = false;
        FILE *f = fopen("/proc/self/status", "re");

        if (!f)
                return false;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, k) == 0 && line[k] == ':') {
                        char *v = line + k + 1;
                        v += strspn(v, " \t");
                        v[strcspn(v, "\n")] = '\0';
                        snprintf(out, size, "%s", v);
                        found = true;
                        break;
                }
        fclose(f);
        return found;
}

/* --- the report ----------------------------------------------------------- */

static void report_mount(FILE *j, const char *mount_point, bool *first) {
        char line[4096], found[4096] = "";
        FILE *f = fopen("/proc/self/mountinfo", "re");

        if (f) {
                /* The last mount on a point is the visible one. */
                while (fgets(line, sizeof line, f)) {
                        char mp[1024];
                        if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) == 1 && strcmp(mp, mount_point) == 0)
                                snprintf(found, sizeof found, "%s", line);
                }
                fclose(f);
        }

        fprintf(j, "%s", *first ? "" : ",");
        *first = false;
        json_string(j, mount_point);
        if (!*found) {
                fputs(":null", j);
                return;
        }
        {
                char opts[1024] = "", fstype[128] = "", source[1024] = "", super[1024] = "";
                const char *dash = strstr(found, " - ");
                sscanf(found, "%*s %*s %*s %*s %*s %1023s", opts);
                if (dash)
                        sscanf(dash + 3, "%127s %1023s %1023s", fstype, source, super);
                fputs(":{\"options\":", j);
                json_string(j, opts);
                fputs(",\"fstype\":", j);
                json_string(j, fstype);
                fputs(",\"super_options\":", j);
                json_string(j, super);
                fputc('}', j);
        }
}

static void report_interfaces(FILE *j) {
        char line[512];
        bool first = true;
        int n = 0;
        FILE *f = fopen("/proc/net/dev", "re");

        fputs("\"interfaces\":[", j);
        if (f) {
                while (fgets(line, sizeof line, f)) {
                        char *colon = strchr(line, ':'), *name = line;
                        if (++n <= 2 || !colon)
                                continue; /* two header lines */
                        *colon = '\0';
                        name += strspn(name, " ");
                        fputs(first ? "" : ",", j);
                        json_string(j, name);
                        first = false;
                }
                fclose(f);
        }
        fputc(']', j);
}

static void report_pids(FILE *j) {
        struct dirent *de;
        bool first = true;
        DIR *d = opendir("/proc");

        fputs("\"pids\":[", j);
        if (d) {
                while ((de = readdir(d)))
                        if (de->d_name[0] >= '1' && de->d_name[0] <= '9' &&
                            strspn(de->d_name, "0123456789") == strlen(de->d_name)) {
                                fprintf(j, "%s%s", first ? "" : ",", de->d_name);
                                first = false;
                        }
                closedir(d);
        }
        fputc(']', j);
}

static void report_secrets(FILE *j) {
        struct dirent *de;
        bool first = true;
        DIR *d = opendir("/run/secrets");

        fputs("\"secrets\":", j);
        if (!d) {
                fputs("null", j);
                return;
        }
        fputc('[', j);
        while ((de = readdir(d))) {
                struct stat st;
                int fd;

                if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                /* Readable or not is part of the report; the content never is. */
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
                fputs(first ? "{\"name\":" : ",{\"name\":", j);
                json_string(j, de->d_name);
                fprintf(j, ",\"type\":\"%s\",\"mode\":\"%04o\",\"uid\":%u,\"gid\":%u,\"size\":%lld,\"readable\":%s}",
                        S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : "other",
                        (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid, (unsigned) st.st_gid,
                        (long long) st.st_size, fd >= 0 ? "true" : "false");
                if (fd >= 0)
                        close(fd);
                first = false;
        }
        closedir(d);
        fputc(']', j);
}

static void report_env(FILE *j) {
        extern char **environ;
        bool first = true;

        fputs("\"env\":[", j);
        for (char **e = environ; e && *e; e++) {
                char v[512];
                snprintf(v, sizeof v, "%s", *e); /* long values are cut, the line must stay short */
                fputs(first ? "" : ",", j);
                json_string(j, v);
                first = false;
        }
        fputc(']', j);
}

static void print_report(unsigned failed) {
        static const char *const capkeys[] = { "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb" };
        char *buf = NULL, v[256], *label, *hostname;
        size_t size = 0;
        gid_t groups[64];
        int ng;
        bool first;
        FILE *j = open_memstream(&buf, &size);

        if (!j) {
                printf("{\"probe\":\"agentcage-probe\",\"error\":\"out of memory\"}\n");
                return;
        }

        fprintf(j, "{\"probe\":\"agentcage-probe\",\"version\":1,\"uid\":%u,\"euid\":%u,\"gid\":%u,\"egid\":%u,\"groups\":[",
                (unsigned) getuid(), (unsigned) geteuid(), (unsigned) getgid(), (unsigned) getegid());
        ng = getgroups((int) (sizeof groups / sizeof groups[0]), groups);
        for (int i = 0; i < ng; i++)
                fprintf(j, "%s%u", i ? "," : "", (unsigned) groups[i]);
        fputs("],\"caps\":{", j);
        for (size_t i = 0; i < sizeof capkeys / sizeof capkeys[0]; i++) {
                fprintf(j, "%s\"%s\":", i ? "," : "", capkeys[i]);
                json_string(j, status_field(capkeys[i], v, sizeof v) ? v : "?");
        }
        fputc('}', j);
        fprintf(j, ",\"no_new_privs\":%s", status_field("NoNewPrivs", v, sizeof v) ? v : "null");
        fprintf(j, ",\"seccomp\":%s", status_field("Seccomp", v, sizeof v) ? v : "null");
        fprintf(j, ",\"seccomp_filters\":%s", status_field("Seccomp_filters", v, sizeof v) ? v : "null");

        label = read_text("/proc/self/attr/apparmor/current", 512);
        if (!label)
                label = read_text("/proc/self/attr/current", 512);
        fputs(",\"apparmor\":", j);
        if (label)
                json_string(j, label);
        else
                fputs("null", j);
        free(label);

        hostname = read_text("/proc/sys/kernel/hostname", 256);
        fputs(",\"hostname\":", j);
        json_string(j, hostname ? hostname : "");
        free(hostname);

        fputs(",\"mounts\":{", j);
        first = true;
        report_mount(j, "/", &first);
        report_mount(j, "/tmp", &first);
        report_mount(j, "/dev/shm", &first);
        report_mount(j, "/workspace", &first);
        report_mount(j, "/run/secrets", &first);
        fputs("},", j);
        report_interfaces(j);
        fputc(',', j);
        report_pids(j);
        fputc(',', j);
        report_secrets(j);
        fputc(',', j);
        report_env(j);

        fputs(",\"attempts\":[", j);
        for (size_t i = 0; i < n_attempts; i++) {
                fputs(i ? ",{\"attempt\":" : "{\"attempt\":", j);
                json_string(j, attempts[i].name);
                fputs(",\"expected\":", j);
                json_string(j, attempts[i].expected);
                fputs(",\"result\":", j);
                json_string(j, attempts[i].result);
                fprintf(j, ",\"pass\":%s}", attempts[i].pass ? "true" : "false");
        }
        fprintf(j, "],\"attempted\":%zu,\"failed\":%u}", n_attempts, failed);

        if (fclose(j) != 0 || !buf) {
                printf("{\"probe\":\"agentcage-probe\",\"error\":\"out of memory\"}\n");
                return;
        }
        /* One line, written at once: the journal keeps it together. */
        printf("%s\n", buf);
        fflush(stdout);
        free(buf);
}

/* --- attempts ---------------------------------------------------------------- */

/* Runs fn in a child. Returns 0 if it succeeded, its errno (> 0) if it
 * failed, or -SIGNAL if the child was killed (SIGSYS: the seccomp filter). */
int in_child(int (*fn)(void)) {
        int status;
        pid_t pid;

        fflush(stdout);
        pid = fork();
        if (pid < 0)
                return errno;
        if (pid == 0) {
                int r = fn();
                _exit(r < 0 ? 255 : r > 254 ? 254 : r);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return errno;
        if (WIFSIGNALED(status))
                return -WTERMSIG(status);
        return WEXITSTATUS(status);
}

static void expect_blocked(const char *name, int (*fn)(void)) {
        int r = in_child(fn);

        if (r == 0)
                record(name, "blocked", false, "SUCCEEDED");
        else if (r < 0)
                /* The policy answers EPERM; a SIGSYS means some other filter
                 * (the unit's) decided, and the floor is not what it says. */
                record(name, "blocked", -r != SIGSYS, "killed by %s", sigabbrev_np(-r) ? sigabbrev_np(-r) : "signal");
        else
                record(name, "blocked", true, "%s", errno_name(r));
}

#define ERR(expr) ((expr) < 0 ? errno : 0)

static int t_mount(void) { return ERR(mount("none", "/tmp", "tmpfs", 0, NULL)); }
static int t_umount(void) { return ERR(umount2("/workspace", MNT_DETACH)); }
static int t_pivot_root(void) { return ERR(syscall(SYS_pivot_root, "/tmp", "/tmp")); }
static int t_chroot(void) { return ERR(chroot("/tmp")); }
static int t_unshare_ns(void) { return ERR(unshare(CLONE_NEWNS)); }
static int t_unshare_uts(void) { return ERR(unshare(CLONE_NEWUTS)); }
static int t_unshare_ipc(void) { return ERR(unshare(CLONE_NEWIPC)); }
static int t_unshare_net(void) { return ERR(unshare(CLONE_NEWNET)); }
static int t_unshare_pid(void) { return ERR(unshare(CLONE_NEWPID)); }
static int t_unshare_user(void) { return ERR(unshare(CLONE_NEWUSER)); }
static int t_unshare_cgroup(void) { return ERR(unshare(CLONE_NEWCGROUP)); }
static int t_unshare_time(void) { return ERR(unshare(CLONE_NEWTIME)); }
static int t_clone_user(void) {
        /* clone() with a namespace flag is the other way in. */
        long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
        if (r == 0)
                _exit(0);
        if (r < 0)
                return errno;
        (void) waitpid((pid_t) r, NULL, 0);
        return 0;
}

static int t_setns(void) {
        int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        return ERR(setns(fd, 0));
}

static int t_ptrace_traceme(void) { return ERR(ptrace(PTRACE_TRACEME, 0, NULL, NULL)); }
static int t_ptrace_attach(void) { return ERR(ptrace(PTRACE_ATTACH, 1, NULL, NULL)); }

static int t_process_vm_readv(void) {
        char buf[16];
        static char src[16];
        struct iovec l = { buf, sizeof buf }, r = { src, sizeof src };
        /* Our parent's memory; with a working filter even our own is off limits. */
        return ERR(process_vm_readv(getppid(), &l, 1, &r, 1, 0));
}

static int t_bpf(void) {
        union bpf_attr a = { .map_type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 1 };
        return ERR(syscall(SYS_bpf, BPF_MAP_CREATE, &a, sizeof a));
}

static int t_perf_event_open(void) {
        struct perf_event_attr a = {
                .type = PERF_TYPE_SOFTWARE,
                .size = sizeof a,
                .config = PERF_COUNT_SW_CPU_CLOCK,
                .disabled = 1,
                .exclude_kernel = 1,
                .exclude_hv = 1,
        };
        return ERR(syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
}

static int t_keyctl(void) { return ERR(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "probe")); }
static int t_add_key(void) {
        return ERR(syscall(SYS_add_key, "user", "probe", "x", (size_t) 1, KEY_SPEC_PROCESS_KEYRING));
}
static int t_kexec_load(void) { return ERR(syscall(SYS_kexec_load, 0UL, 0UL, NULL, 0UL)); }
static int t_init_module(void) { return ERR(syscall(SYS_init_module, NULL, 0UL, "")); }
static int t_finit_module(void) {
        int fd = open("/usr", O_RDONLY | O_CLOEXEC);
        return ERR(syscall(SYS_finit_module, fd, "", 0));
}

static int t_io_uring_setup(void) {
        char params[120] = {}; /* struct io_uring_params, zeroed */
        return ERR(syscall(SYS_io_uring_setup, 1, params));
}

static int t_userfaultfd(void) {
        /* User-mode-only faults are allowed without privileges: only the
         * filter can say no. */
        return ERR(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
}

static int t_open_by_handle_at(void) {
        struct {
                struct file_handle fh;
                unsigned char data[128];
        } h = { .fh.handle_bytes = 128 };
        int mount_id, fd;

        if (name_to_handle_at(AT_FDCWD, "/", &h.fh, &mount_id, 0) < 0)
                return errno;
        fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return ERR(open_by_handle_at(fd, &h.fh, O_RDONLY));
}

static int t_raw_socket(void) { return ERR(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)); }
static int t_packet_socket(void) { return ERR(socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))); }
static int t_setuid0(void) { return ERR(setuid(0)); }
static int t_sethostname(void) { return ERR(sethostname("escaped", 7)); }

static int t_write_root(void) {
        int fd = open("/probe-was-here", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
                return errno;
        (void) unlink("/probe-was-here");
        return 0;
}

static int t_mknod(void) {
        int r = ERR(mknod("/tmp/probe-null", S_IFCHR | 0666, makedev(1, 3)));
        if (r == 0)
                (void) unlink("/tmp/probe-null");
        return r;
}

static int write_to(const char *path, const char *data) {
        ssize_t n;
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno;
        n = write(fd, data, strlen(data));
        return n < 0 ? errno : 0;
}

static int t_proc_hostname(void) { return write_to("/proc/sys/kernel/hostname", "escaped"); }
/* "h" only prints help to the kernel log: harmless should it get through. */
static int t_sysrq(void) { return write_to("/proc/sysrq-trigger", "h"); }
static int t_sys_uevent_helper(void) { return write_to("/sys/kernel/uevent_helper", "/tmp/x"); }
static int t_apparmor_change(void) { return write_to("/proc/self/attr/current", "changeprofile unconfined"); }

static int t_read_sys_dmi(void) {
        char b[16];
        int fd = open("/sys/firmware/dmi/tables/DMI", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno;
        return read(fd, b, sizeof b) < 0 ? errno : 0;
}

static void attempt_kill_all(void) {
        /* In the probe itself, not a child: a child could signal the probe.
         * With every attempt's child reaped, only PID 1 (which kill(-1)
         * leaves out) shares the namespace with us; anything else that
         * answers is a process we should not see. */
        if (kill(-1, 0) < 0)
                record("kill(-1, 0): anyone to signal", "ESRCH", errno == ESRCH, "%s", errno_name(errno));
        else
                record("kill(-1, 0): anyone to signal", "ESRCH", false, "SUCCEEDED");
}

static void attempt_setuid_file(void) {
        static const char path[] = "/tmp/probe-suid";
        struct statvfs sv;
        int fd, r;

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (fd < 0) {
                record("chmod u+s on a /tmp file", "blocked or nosuid", true, "cannot create (%s)", errno_name(errno));
                return;
        }
        close(fd);
        r = ERR(chmod(path, 04755));
        (void) unlink(path);
        if (r != 0) {
                record("chmod u+s on a /tmp file", "blocked or nosuid", true, "%s", errno_name(r));
                return;
        }
        /* The bit was set; harmless only if the mount ignores it. */
        if (statvfs("/tmp", &sv) == 0 && (sv.f_flag & ST_NOSUID))
                record("chmod u+s on a /tmp file", "blocked or nosuid", true, "set, but /tmp is nosuid");
        else
                record("chmod u+s on a /tmp file", "blocked or nosuid", false, "SUCCEEDED on a suid mount");
}

static void attempt_kill_init(void) {
        char *st;

        if (geteuid() == 0) {
                /* Outside a container (or in a broken one) this would be the
                 * host's init; root is a failure already anyway. */
                record("kill(1, SIGKILL)", "init survives", false, "not tried: the probe runs as root");
                return;
        }
        /* PID 1 of a PID namespace cannot be SIGKILLed from inside it. Were
         * it possible, the container would end here and the report with it:
         * the missing report is then the failure. */
        if (kill(1, SIGKILL) < 0) {
                record("kill(1, SIGKILL)", "init survives", true, "%s", errno_name(errno));
                return;
        }
        usleep(200 * 1000);
        st = read_text("/proc/1/stat", 256);
        record("kill(1, SIGKILL)", "init survives", st && !strstr(st, ") Z "),
               st ? "sent, init still running" : "init is gone");
        free(st);
}

static void attempt_fork_bomb(void) {
        pid_t *pids = calloc(FORK_BOMB_MAX, sizeof(pid_t));
        size_t n = 0;
        int err = 0;

        if (!pids) {
                record("fork bomb", "EAGAIN (tasks limit)", false, "out of memory");
                return;
        }
        fflush(stdout);
        while (n < FORK_BOMB_MAX) {
                pid_t p = fork();
                if (p < 0) {
                        err = errno;
                        break;
                }
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                pids[n++] = p;
        }
        for (size_t i = 0; i < n; i++)
                (void) kill(pids[i], SIGKILL);
        for (size_t i = 0; i < n; i++)
                while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        free(pids);
        if (err == EAGAIN)
                record("fork bomb", "EAGAIN (tasks limit)", true, "EAGAIN after %zu children", n);
        else if (err)
                record("fork bomb", "EAGAIN (tasks limit)", false, "%s after %zu children", errno_name(err), n);
        else
                record("fork bomb", "EAGAIN (tasks limit)", false, "%zu children, no limit hit", n);
}

static void attempt_memory_bomb(void) {
        int status;
        pid_t p;

        fflush(stdout);
        p = fork();
        if (p < 0) {
                record("memory bomb (in a child)", "child killed or ENOMEM", false, "fork: %s", errno_name(errno));
                return;
        }
        if (p == 0) {
                const size_t chunk = 16U << 20;
                for (unsigned long long total = 0; total < MEMORY_BOMB_MAX; total += chunk) {
                        char *m = malloc(chunk);
                        if (!m)
                                _exit(ENOMEM);
                        memset(m, 0xa5, chunk); /* touch it: really use the memory */
                }
                _exit(0);
        }
        while (waitpid(p, &status, 0) < 0)
                if (errno != EINTR) {
                        record("memory bomb (in a child)", "child killed or ENOMEM", false, "waitpid: %s", errno_name(errno));
                        return;
                }
        if (WIFSIGNALED(status))
                record("memory bomb (in a child)", "child killed or ENOMEM", true, "child killed by %s, probe alive",
                       sigabbrev_np(WTERMSIG(status)) ? sigabbrev_np(WTERMSIG(status)) : "signal");
        else if (WIFEXITED(status) && WEXITSTATUS(status) == ENOMEM)
                record("memory bomb (in a child)", "child killed or ENOMEM", true, "ENOMEM, probe alive");
        else
                record("memory bomb (in a child)", "child killed or ENOMEM", false, "allocated %llu GiB unhindered",
                       MEMORY_BOMB_MAX >> 30);
}

static void attempt_fill(const char *dir, const char *name) {
        static char block[1 << 20];
        unsigned long long written = 0;
        char path[256];
        int fd, err = 0;

        snprintf(path, sizeof path, "%s/probe-fill", dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0) {
                record(name, "ENOSPC", false, "cannot create: %s", errno_name(errno));
                return;
        }
        memset(block, 0x5a, sizeof block);
        while (written < FILL_MAX && !stop_requested) {
                ssize_t n = write(fd, block, sizeof block);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        err = errno;
                        break;
                }
                written += (unsigned long long) n;
        }
        close(fd);
        (void) unlink(path);
        if (err == ENOSPC || err == EDQUOT || err == EFBIG)
                record(name, "ENOSPC", true, "%s after %llu MiB", errno_name(err), written >> 20);
        else if (err)
                record(name, "ENOSPC", false, "%s after %llu MiB", errno_name(err), written >> 20);
        else if (stop_requested)
                record(name, "ENOSPC", false, "interrupted after %llu MiB", written >> 20);
        else
                record(name, "ENOSPC", false, "wrote %llu MiB without limit", written >> 20);
}

static void help(void) {
        printf("agent-probe [--fork-bomb] [--memory-bomb] [--fill] [--all] [--linger=SECONDS] [--fork-hold]\n\n"
               "Reports what an agent sees and tries escapes; exit status = failed expectations.\n");
}

static int parse_argv(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help",        no_argument,       NULL, 'h' },
                { "fork-bomb",   no_argument,       NULL, 'F' },
                { "memory-bomb", no_argument,       NULL, 'M' },
                { "fill",        no_argument,       NULL, 'f' },
                { "all",         no_argument,       NULL, 'a' },
                { "linger",      required_argument, NULL, 'l' },
                { "fork-hold",   no_argument,       NULL, 'H' },
                {}
        };
        char *end;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case 'F':
                        arg_fork_bomb = true;
                        break;
                case 'M':
                        arg_memory_bomb = true;
                        break;
                case 'H':
                        arg_fork_hold = true;
                        break;
                case 'f':
                        arg_fill = true;
                        break;
                case 'a':
                        arg_fork_bomb = arg_memory_bomb = arg_fill = true;
                        break;
                case 'l':
                        errno = 0;
                        arg_linger = strtoul(optarg, &end, 10);
                        if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || arg_linger > 86400) {
                                fprintf(stderr, "agent-probe: invalid --linger=%s (0…86400)\n", optarg);
                                return -EINVAL;
                        }
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                fprintf(stderr, "agent-probe: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

int main(int argc, char *argv[]) {
        static const struct {
                const char *name;
                int (*fn)(void);
        } blocked[] = {
                { "mount tmpfs on /tmp",                 t_mount },
                { "umount2 /workspace",                  t_umount },
                { "pivot_root",                          t_pivot_root },
                { "chroot /tmp",                         t_chroot },
                { "unshare(CLONE_NEWNS)",                t_unshare_ns },
                { "unshare(CLONE_NEWUTS)",               t_unshare_uts },
                { "unshare(CLONE_NEWIPC)",               t_unshare_ipc },
                { "unshare(CLONE_NEWNET)",               t_unshare_net },
                { "unshare(CLONE_NEWPID)",               t_unshare_pid },
                { "unshare(CLONE_NEWUSER)",              t_unshare_user },
                { "unshare(CLONE_NEWCGROUP)",            t_unshare_cgroup },
                { "unshare(CLONE_NEWTIME)",              t_unshare_time },
                { "clone(CLONE_NEWUSER)",                t_clone_user },
                { "setns into PID 1's mount ns",         t_setns },
                { "ptrace(PTRACE_TRACEME)",              t_ptrace_traceme },
                { "ptrace(PTRACE_ATTACH, 1)",            t_ptrace_attach },
                { "process_vm_readv(parent)",            t_process_vm_readv },
                { "bpf(BPF_MAP_CREATE)",                 t_bpf },
                { "perf_event_open",                     t_perf_event_open },
                { "keyctl(JOIN_SESSION_KEYRING)",        t_keyctl },
                { "add_key",                             t_add_key },
                { "kexec_load",                          t_kexec_load },
                { "init_module",                         t_init_module },
                { "finit_module",                        t_finit_module },
                { "io_uring_setup",                      t_io_uring_setup },
                { "userfaultfd(USER_MODE_ONLY)",         t_userfaultfd },
                { "open_by_handle_at",                   t_open_by_handle_at },
                { "socket(AF_INET, SOCK_RAW)",           t_raw_socket },
                { "socket(AF_PACKET)",                   t_packet_socket },
                { "setuid(0)",                           t_setuid0 },
                { "sethostname",                         t_sethostname },
                { "create a file in /",                  t_write_root },
                { "mknod /tmp/probe-null c 1 3",         t_mknod },
                { "write /proc/sys/kernel/hostname",     t_proc_hostname },
                { "write /proc/sysrq-trigger",           t_sysrq },
                { "write /sys/kernel/uevent_helper",     t_sys_uevent_helper },
                { "read /sys/firmware/dmi/tables/DMI",   t_read_sys_dmi },
                { "change AppArmor profile",             t_apparmor_change },
        };
        struct sigaction sa = { .sa_handler = on_term };
        unsigned failed = 0;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        sigemptyset(&sa.sa_mask);
        (void) sigaction(SIGTERM, &sa, NULL);
        (void) sigaction(SIGINT, &sa, NULL);

        printf("%-40s | %-22s | %-40s | %s\n", "ATTEMPT", "EXPECTED", "RESULT", "PASS/FAIL");
        for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
                expect_blocked(blocked[i].name, blocked[i].fn);
        attempt_floor();
        attempt_setuid_file();
        attempt_kill_all();
        if (arg_fork_bomb)
                attempt_fork_bomb();
        if (arg_memory_bomb)
                attempt_memory_bomb();
        if (arg_fill) {
                attempt_fill("/workspace", "fill /workspace");
                attempt_fill("/tmp", "fill /tmp");
        }
        attempt_kill_init();

        for (size_t i = 0; i < n_attempts; i++)
                failed += !attempts[i].pass;
        print_report(failed);

        if (arg_fork_hold)
                fork_hold();
        for (unsigned long s = 0; s < arg_linger && !stop_requested; s++)
                sleep(1);

        return (int) (failed > 125 ? 125 : failed);
}
