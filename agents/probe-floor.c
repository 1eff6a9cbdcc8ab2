/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor as src/seccomp/policy.c and the README state it, tried from
 * inside: socket families allowed and refused, never-allowed syscalls failing
 * with the policy's errno (never a SIGSYS), W^X memory, foreign
 * architectures, code the agent wrote not executing (/tmp, /workspace,
 * /dev/shm, memfds) and PID 1 out of reach. */

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fork-hold.h"
#include "probe.h"

#ifndef AF_VSOCK
#  define AF_VSOCK 40
#endif
#ifndef AF_XDP
#  define AF_XDP 44
#endif
#ifndef AF_ALG
#  define AF_ALG 38
#endif
#ifndef IPPROTO_SCTP
#  define IPPROTO_SCTP 132
#endif

static void expect_errno(const char *name, int (*fn)(void), int want) {
        int r = in_child(fn);
        /* record() keeps the pointer: a static string. */
        const char *expected = want ? errno_name(want) : "works";

        if (r < 0)
                record(name, expected, false, "killed by signal %d", -r);
        else if (r == 0)
                record(name, expected, want == 0, "works");
        else
                record(name, expected, r == want, "%s", errno_name(r));
}

#define ERR(expr) ((expr) < 0 ? errno : 0)

static int sock(int family, int type, int protocol) {
        int fd = socket(family, type | SOCK_CLOEXEC, protocol);
        if (fd < 0)
                return errno;
        close(fd);
        return 0;
}

static int s_inet_tcp(void) { return sock(AF_INET, SOCK_STREAM, 0); }
static int s_inet_udp(void) { return sock(AF_INET, SOCK_DGRAM, 0); }
static int s_inet6_tcp(void) { return sock(AF_INET6, SOCK_STREAM, 0); }
static int s_inet6_udp(void) { return sock(AF_INET6, SOCK_DGRAM, IPPROTO_UDP); }
static int s_unix(void) { return sock(AF_UNIX, SOCK_STREAM, 0); }
static int s_inet_sctp(void) { return sock(AF_INET, SOCK_STREAM, IPPROTO_SCTP); }
static int s_inet_raw(void) { return sock(AF_INET, SOCK_RAW, IPPROTO_ICMP); }
static int s_packet(void) { return sock(AF_PACKET, SOCK_DGRAM, 0); }
static int s_netlink_route(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE); }
static int s_netlink_audit(void) { return sock(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT); }
static int s_vsock(void) { return sock(AF_VSOCK, SOCK_STREAM, 0); }
static int s_alg(void) { return sock(AF_ALG, SOCK_SEQPACKET, 0); }
static int s_xdp(void) { return sock(AF_XDP, SOCK_RAW, 0); }
static int s_key(void) { return sock(AF_KEY, SOCK_RAW, 2); }
static int s_bluetooth(void) { return sock(AF_BLUETOOTH, SOCK_STREAM, 0); }
static int s_socketpair_inet(void) {
        int sv[2];
        return ERR(socketpair(AF_INET, SOCK_STREAM, 0, sv));
}

/* A never-allowed syscall with arguments that would fail in the kernel
 * anyway, should the filter let it through. */
#define BAD ((long) -1)
#define RAW(fn, nr) static int fn(void) { return ERR(syscall(nr, BAD, BAD, BAD, BAD, BAD, BAD)); }
RAW(n_ptrace, SYS_ptrace)
RAW(n_mount, SYS_mount)
RAW(n_umount2, SYS_umount2)
RAW(n_pivot_root, SYS_pivot_root)
RAW(n_chroot, SYS_chroot)
RAW(n_unshare, SYS_unshare)
RAW(n_setns, SYS_setns)
RAW(n_bpf, SYS_bpf)
RAW(n_perf_event_open, SYS_perf_event_open)
RAW(n_userfaultfd, SYS_userfaultfd)
RAW(n_io_uring_setup, SYS_io_uring_setup)
RAW(n_keyctl, SYS_keyctl)
RAW(n_add_key, SYS_add_key)
RAW(n_kexec_load, SYS_kexec_load)
RAW(n_init_module, SYS_init_module)
RAW(n_delete_module, SYS_delete_module)
RAW(n_clock_settime, SYS_clock_settime)
RAW(n_settimeofday, SYS_settimeofday)
RAW(n_adjtimex, SYS_adjtimex)
RAW(n_reboot, SYS_reboot)
RAW(n_swapon, SYS_swapon)
RAW(n_acct, SYS_acct)
RAW(n_syslog, SYS_syslog)
RAW(n_sethostname, SYS_sethostname)
RAW(n_process_vm_readv, SYS_process_vm_readv)
RAW(n_kcmp, SYS_kcmp)
RAW(n_open_by_handle_at, SYS_open_by_handle_at)
RAW(n_iopl, SYS_iopl)
RAW(n_modify_ldt, SYS_modify_ldt)
RAW(n_mbind, SYS_mbind)
RAW(n_fanotify_init, SYS_fanotify_init)
RAW(n_pkey_alloc, SYS_pkey_alloc)  /* not on the allow-list: the default EPERM */
RAW(n_clone3, SYS_clone3)
RAW(n_memfd_create, SYS_memfd_create)

static int m_wx(void) {
        return mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? errno : 0;
}
static int m_mprotect_exec(void) {
        void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return 100;
        return ERR(mprotect(p, 4096, PROT_READ | PROT_EXEC));
}
static int m_rx(void) {
        return mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? errno : 0;
}
static int p_query(void) { return ERR(syscall(SYS_personality, 0xffffffffUL)); }
static int p_read_implies_exec(void) { return ERR(syscall(SYS_personality, (unsigned long) READ_IMPLIES_EXEC)); }
static int i386_getpid(void) {
#if defined(__x86_64__)
        long r;
        __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
        return r < 0 ? (int) -r : 0;
#else
        return EPERM;
#endif
}

/* PID 1 (agent-init) keeps another uid: none of this may reach it. */
static int i_setpriority(void) { return ERR(setpriority(PRIO_PROCESS, 1, 19)); }
static int i_prlimit(void) {
        struct rlimit rl = { 16, 16 };
        return ERR(prlimit(1, RLIMIT_NOFILE, &rl, NULL));
}
static int i_kill(void) { return ERR(kill(1, SIGTERM)); }
static int i_kill0(void) { return ERR(kill(1, 0)); }

/* Writes a copy of ourselves at path (or into a memfd with path NULL) and
 * tries to execute it; "--help" makes a copy that ran exit 0 at once. */
static int exec_copy(const char *path) {
        int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), out;
        char *args[] = { (char *) "agent-probe", (char *) "--help", NULL };
        ssize_t n;

        /* A copy that could not be made proves nothing: no errno then
         * (reported as "E?", a failure), never a pass for the wrong reason. */
        if (in < 0)
                return 254;
        out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        if (out < 0) {
                close(in);
                return 253;
        }
        while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
                ;
        close(out);
        close(in);
        if (n < 0)
                return 252;
        (void) chmod(path, 0755);
        {
                pid_t pid = fork();
                int status, err;
                if (pid == 0) {
                        int null = open("/dev/null", O_WRONLY);
                        if (null >= 0)
                                dup2(null, STDOUT_FILENO);
                        execv(path, args);
                        _exit(errno > 0 && errno < 50 ? 200 + errno : 250);
                }
                if (pid < 0 || waitpid(pid, &status, 0) != pid)
                        return 251;
                (void) unlink(path);
                if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                        return 0; /* it ran */
                err = WIFEXITED(status) && WEXITSTATUS(status) >= 200 ? WEXITSTATUS(status) - 200 : 250;
                return err;
        }
}
static int x_tmp(void) { return exec_copy("/tmp/probe-exec"); }
static int x_workspace(void) { return exec_copy("/workspace/probe-exec"); }
static int x_dev_shm(void) { return exec_copy("/dev/shm/probe-exec"); }

void attempt_floor(void) {
        static const struct {
                const char *name;
                int (*fn)(void);
                int want;
        } table[] = {
                { "socket(AF_INET, SOCK_STREAM)",        s_inet_tcp,        0 },
                { "socket(AF_INET, SOCK_DGRAM)",         s_inet_udp,        0 },
                { "socket(AF_INET6, SOCK_STREAM)",       s_inet6_tcp,       0 },
                { "socket(AF_INET6, SOCK_DGRAM, UDP)",   s_inet6_udp,       0 },
                { "socket(AF_UNIX, SOCK_STREAM)",        s_unix,            0 },
                { "socket(AF_INET, STREAM, SCTP)",       s_inet_sctp,       EPERM },
                { "socket(AF_INET, SOCK_RAW) [floor]",   s_inet_raw,        EPERM },
                { "socket(AF_PACKET) [floor]",           s_packet,          EPERM },
                { "socket(AF_NETLINK, ROUTE)",           s_netlink_route,   EPERM },
                { "socket(AF_NETLINK, AUDIT)",           s_netlink_audit,   EPERM },
                { "socket(AF_VSOCK)",                    s_vsock,           EPERM },
                { "socket(AF_ALG)",                      s_alg,             EPERM },
                { "socket(AF_XDP)",                      s_xdp,             EPERM },
                { "socket(AF_KEY)",                      s_key,             EPERM },
                { "socket(AF_BLUETOOTH)",                s_bluetooth,       EPERM },
                { "socketpair(AF_INET)",                 s_socketpair_inet, EPERM },
                { "ptrace [policy errno]",               n_ptrace,          EPERM },
                { "mount [policy errno]",                n_mount,           EPERM },
                { "umount2 [policy errno]",              n_umount2,         EPERM },
                { "pivot_root [policy errno]",           n_pivot_root,      EPERM },
                { "chroot [policy errno]",               n_chroot,          EPERM },
                { "unshare [policy errno]",              n_unshare,         EPERM },
                { "setns [policy errno]",                n_setns,           EPERM },
                { "bpf [policy errno]",                  n_bpf,             EPERM },
                { "perf_event_open [policy errno]",      n_perf_event_open, EPERM },
                { "userfaultfd [policy errno]",          n_userfaultfd,     EPERM },
                { "io_uring_setup [policy errno]",       n_io_uring_setup,  EPERM },
                { "keyctl [policy errno]",               n_keyctl,          EPERM },
                { "add_key [policy errno]",              n_add_key,         EPERM },
                { "kexec_load [policy errno]",           n_kexec_load,      EPERM },
                { "init_module [policy errno]",          n_init_module,     EPERM },
                { "delete_module [policy errno]",        n_delete_module,   EPERM },
                { "clock_settime [policy errno]",        n_clock_settime,   EPERM },
                { "settimeofday [policy errno]",         n_settimeofday,    EPERM },
                { "adjtimex [policy errno]",             n_adjtimex,        EPERM },
                { "reboot [policy errno]",               n_reboot,          EPERM },
                { "swapon [policy errno]",               n_swapon,          EPERM },
                { "acct [policy errno]",                 n_acct,            EPERM },
                { "syslog [policy errno]",               n_syslog,          EPERM },
                { "sethostname [policy errno]",          n_sethostname,     EPERM },
                { "process_vm_readv [policy errno]",     n_process_vm_readv, EPERM },
                { "kcmp [policy errno]",                 n_kcmp,            EPERM },
                { "open_by_handle_at [policy errno]",    n_open_by_handle_at, EPERM },
                { "iopl [policy errno]",                 n_iopl,            EPERM },
                { "modify_ldt [policy errno]",           n_modify_ldt,      EPERM },
                { "mbind [policy errno]",                n_mbind,           EPERM },
                { "fanotify_init [policy errno]",        n_fanotify_init,   EPERM },
                { "pkey_alloc (not allowed)",            n_pkey_alloc,      EPERM },
                { "clone3 (libc falls back)",            n_clone3,          ENOSYS },
                { "memfd_create",                        n_memfd_create,    EPERM },
                { "mmap(PROT_WRITE|PROT_EXEC)",          m_wx,              EPERM },
                { "mprotect(written memory, PROT_EXEC)", m_mprotect_exec,   EPERM },
                { "mmap(PROT_READ|PROT_EXEC)",           m_rx,              0 },
                { "personality(query)",                  p_query,           0 },
                { "personality(READ_IMPLIES_EXEC)",      p_read_implies_exec, EPERM },
                { "i386 getpid via int 0x80",            i386_getpid,       EPERM },
                { "setpriority(PID 1, 19)",              i_setpriority,     EPERM },
                { "prlimit(PID 1, NOFILE)",              i_prlimit,         EPERM },
                { "kill(PID 1, SIGTERM)",                i_kill,            EPERM },
                { "kill(PID 1, 0)",                      i_kill0,           EPERM },
                { "exec a file written to /tmp",         x_tmp,             EACCES },
                { "exec a file written to /workspace",   x_workspace,       EACCES },
                { "exec a file written to /dev/shm",     x_dev_shm,         EACCES },
        };

        for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
                expect_errno(table[i].name, table[i].fn, table[i].want);
}

_Noreturn void fork_hold(void) {
        unsigned n = fork_paused_children(100000);

        printf("fork-hold: %u children, holding\n", n);
        fflush(stdout);
        for (;;)
                pause();
}
