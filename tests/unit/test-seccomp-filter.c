/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The agent filter, for real: a child sets no_new_privs, loads the BPF that
 * seccomp_policy_write_bpf() produced (with seccomp_policy_load_bpf_fd(), as
 * agent-init does) and then tries syscalls with raw syscall() and harmless
 * arguments (invalid pointers, descriptors and flags, so that a syscall the
 * filter wrongly let through fails in the kernel instead of doing anything).
 * It records errno per attempt in shared memory; the parent prints one TAP
 * line per attempt, so a crash of the child cannot hide a result.
 *
 * Usage: test-seccomp-filter [PYTHON3] */

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include "macro.h"
#include "policy.h"
#include "tap.h"

#ifndef AF_VSOCK
#  define AF_VSOCK 40
#endif

typedef enum Expect {
        EXPECT_SUCCESS,       /* ret >= 0 */
        EXPECT_ERRNO,         /* ret == -1 and errno == expected */
        EXPECT_NOT_FILTERED,  /* anything but EPERM: the kernel, not the filter, answered */
} Expect;

typedef struct Probe {
        char what[160];
        Expect expect;
        int expected_errno;
        long ret;
        int error;
} Probe;

#define MAX_PROBES 256

typedef struct Shared {
        int n;
        bool finished;
        Probe probes[MAX_PROBES];
} Shared;

static Shared *shared;
static char tmpdir[] = "/tmp/test-seccomp-filter-XXXXXX";
static const char *arg_python;
static int ia32_available = -1;

/* Runs in the filtered child: only memory writes, no syscalls. */
_printf_(4, 5) static void record(long ret, Expect expect, int expected_errno, const char *fmt, ...) {
        int saved = errno;
        Probe *p;
        va_list ap;

        if (shared->n >= MAX_PROBES)
                return;
        p = shared->probes + shared->n++;
        va_start(ap, fmt);
        (void) vsnprintf(p->what, sizeof p->what, fmt, ap);
        va_end(ap);
        p->expect = expect;
        p->expected_errno = expected_errno;
        p->ret = ret;
        p->error = ret < 0 ? saved : 0;
}

#define BAD ((long) -1)

static void probe_never_allowed(void) {
        const char *name;
        int error;

        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, &error)); i++) {
                int nr = seccomp_syscall_resolve_name(name);
                long r;

                if (nr < 0)
                        continue;  /* not a syscall of this architecture: reported by the parent */

                errno = 0;
                r = syscall(nr, BAD, BAD, BAD, BAD, BAD, BAD);
                record(r, EXPECT_ERRNO, error, "%s() fails with %s", name, error == EPERM ? "EPERM" : "ENOSYS");
        }
}

/* clone() with each namespace flag. A child that slipped through exits at
 * once. */
static void probe_clone(void) {
        static const struct {
                unsigned long flag;
                const char *name;
        } flags[] = {
                { CLONE_NEWUSER, "CLONE_NEWUSER" },
                { CLONE_NEWNS, "CLONE_NEWNS" },
                { CLONE_NEWPID, "CLONE_NEWPID" },
                { CLONE_NEWNET, "CLONE_NEWNET" },
                { CLONE_NEWUTS, "CLONE_NEWUTS" },
                { CLONE_NEWIPC, "CLONE_NEWIPC" },
                { CLONE_NEWCGROUP, "CLONE_NEWCGROUP" },
        };

        for (size_t i = 0; i < ELEMENTSOF(flags); i++) {
                long r;

                errno = 0;
                r = syscall(SYS_clone, flags[i].flag | SIGCHLD, 0, 0, 0, 0);
                if (r == 0)
                        _exit(0);
                if (r > 0)
                        (void) waitpid((pid_t) r, NULL, 0);
                record(r, EXPECT_ERRNO, EPERM, "clone(%s) fails with EPERM", flags[i].name);
        }

        long r;

        errno = 0;
        r = syscall(SYS_unshare, CLONE_NEWUSER);
        record(r, EXPECT_ERRNO, EPERM, "unshare(CLONE_NEWUSER) fails with EPERM");
        errno = 0;
        r = syscall(SYS_unshare, CLONE_NEWNS);
        record(r, EXPECT_ERRNO, EPERM, "unshare(CLONE_NEWNS) fails with EPERM");
}

static void *thread_main(void *p) {
        return (void *) ((uintptr_t) p + 1);
}

static void probe_processes(void) {
        pthread_t t;
        void *result = NULL;
        int status = 0;
        pid_t pid;
        long r;

        pid = fork();
        if (pid == 0)
                _exit(7);
        if (pid > 0 && waitpid(pid, &status, 0) != pid)
                pid = -1;
        record(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 7 ? 0 : -1, EXPECT_SUCCESS, 0,
               "fork() and waitpid() work");

        /* glibc tries clone3() first and falls back to clone() on ENOSYS. */
        r = pthread_create(&t, NULL, thread_main, (void *) 41);
        if (r == 0)
                r = pthread_join(t, &result);
        errno = (int) r;
        record(r == 0 && (uintptr_t) result == 42 ? 0 : -1, EXPECT_SUCCESS, 0, "pthread_create() and join work");

        errno = 0;
        r = syscall(SYS_getpid);
        record(r, EXPECT_SUCCESS, 0, "getpid() works");

        /* On neither list and not an extra: the default action. As root,
         * setuid(euid) would otherwise succeed. */
        errno = 0;
        r = syscall(SYS_setuid, geteuid());
        record(r, EXPECT_ERRNO, EPERM, "setuid() (on no list) fails with EPERM");

        /* The extra of this filter. */
        errno = 0;
        r = syscall(SYS_syncfs, BAD);
        record(r, EXPECT_ERRNO, EBADF, "extra syncfs() is allowed (EBADF from the kernel)");
}

static void probe_sockets(void) {
        static const struct {
                long family, type, protocol;
                const char *what;
        } refused[] = {
                { AF_PACKET, SOCK_RAW, 0, "socket(AF_PACKET, SOCK_RAW)" },
                { AF_PACKET, SOCK_DGRAM, 0, "socket(AF_PACKET, SOCK_DGRAM)" },
                { AF_NETLINK, SOCK_RAW, 0, "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)" },
                { AF_NETLINK, SOCK_DGRAM, 0, "socket(AF_NETLINK, SOCK_DGRAM)" },
                { AF_VSOCK, SOCK_STREAM, 0, "socket(AF_VSOCK)" },
                { AF_INET, SOCK_RAW, IPPROTO_ICMP, "socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)" },
                { AF_INET, SOCK_STREAM, IPPROTO_SCTP, "socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP)" },
                { AF_INET, SOCK_SEQPACKET, 0, "socket(AF_INET, SOCK_SEQPACKET)" },
                { AF_INET6, SOCK_RAW, IPPROTO_RAW, "socket(AF_INET6, SOCK_RAW)" },
                { AF_INET, 6 /* SOCK_DCCP */, 0, "socket(AF_INET, SOCK_DCCP)" },
                /* The kernel truncates the family to int: high bits must not
                 * smuggle AF_PACKET past an equality test. */
                { (long) ((1UL << 32) | AF_PACKET), SOCK_RAW, 0, "socket(AF_PACKET | 1<<32)" },
        };
        int sv[2];
        long r;

        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                errno = 0;
                r = syscall(SYS_socket, refused[i].family, refused[i].type, refused[i].protocol);
                record(r, EXPECT_ERRNO, EPERM, "%s fails with EPERM", refused[i].what);
                if (r >= 0)
                        (void) close((int) r);
        }

        errno = 0;
        r = syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
        record(r, EXPECT_ERRNO, EPERM, "socketpair(AF_INET) fails with EPERM");

        errno = 0;
        r = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        record(r, EXPECT_SUCCESS, 0, "socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC) works");
        if (r >= 0)
                (void) close((int) r);

        errno = 0;
        r = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
        record(r, EXPECT_SUCCESS, 0, "socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) works");
        if (r >= 0) {
                struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
                errno = 0;
                long b = bind((int) r, (struct sockaddr *) &sa, sizeof sa);
                record(b, EXPECT_SUCCESS, 0, "bind() on loopback works");
                (void) close((int) r);
        }

        /* The kernel may lack IPv6; then it, not the filter, says no. */
        errno = 0;
        r = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        record(r, EXPECT_NOT_FILTERED, 0, "socket(AF_INET6, SOCK_STREAM) passes the filter");
        if (r >= 0)
                (void) close((int) r);

        errno = 0;
        r = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        record(r, EXPECT_SUCCESS, 0, "socket(AF_UNIX, SOCK_SEQPACKET) works");
        if (r >= 0)
                (void) close((int) r);

        errno = 0;
        r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
        record(r, EXPECT_SUCCESS, 0, "socketpair(AF_UNIX) works");
        if (r >= 0) {
                char c = 'x', d = 0;
                bool ok = write(sv[0], &c, 1) == 1 && read(sv[1], &d, 1) == 1 && d == 'x';
                record(ok ? 0 : -1, EXPECT_SUCCESS, 0, "data flows over the socketpair");
                (void) close(sv[0]);
                (void) close(sv[1]);
        }
}

static void probe_personality_ioctl(void) {
        int fds[2], devnull, n = 0;
        char c = 'x';
        long r;

        errno = 0;
        r = syscall(SYS_personality, 0xffffffffUL);
        record(r, EXPECT_SUCCESS, 0, "personality(0xffffffff) (query) works");
        errno = 0;
        r = syscall(SYS_personality, (unsigned long) PER_LINUX);
        record(r, EXPECT_SUCCESS, 0, "personality(PER_LINUX) works");
        errno = 0;
        r = syscall(SYS_personality, (unsigned long) READ_IMPLIES_EXEC);
        record(r, EXPECT_ERRNO, EPERM, "personality(READ_IMPLIES_EXEC) fails with EPERM");
        errno = 0;
        r = syscall(SYS_personality, (unsigned long) ADDR_NO_RANDOMIZE);
        record(r, EXPECT_ERRNO, EPERM, "personality(ADDR_NO_RANDOMIZE) fails with EPERM");
        errno = 0;
        r = syscall(SYS_personality, (1UL << 32) | READ_IMPLIES_EXEC);
        record(r, EXPECT_ERRNO, EPERM, "personality(READ_IMPLIES_EXEC | 1<<32) fails with EPERM");

        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        errno = 0;
        r = syscall(SYS_ioctl, devnull, TIOCSTI, &c);
        record(r, EXPECT_ERRNO, EPERM, "ioctl(TIOCSTI) fails with EPERM");
        /* The kernel truncates the request to 32 bits. */
        errno = 0;
        r = syscall(SYS_ioctl, devnull, (1UL << 32) | TIOCSTI, &c);
        record(r, EXPECT_ERRNO, EPERM, "ioctl(TIOCSTI | 1<<32) fails with EPERM");
        errno = 0;
        r = syscall(SYS_ioctl, devnull, 0xffffffff00000000UL | TIOCSTI, &c);
        record(r, EXPECT_ERRNO, EPERM, "ioctl(TIOCSTI, sign-extended) fails with EPERM");
        errno = 0;
        r = syscall(SYS_ioctl, devnull, TCGETS, &c);
        record(r, EXPECT_ERRNO, ENOTTY, "ioctl(TCGETS) on /dev/null reaches the kernel (ENOTTY)");
        (void) close(devnull);

        if (pipe2(fds, O_CLOEXEC) == 0) {
                ssize_t w = write(fds[1], "abc", 3);
                record(w == 3 ? 0 : -1, EXPECT_SUCCESS, 0, "write() to a pipe works");
                errno = 0;
                r = syscall(SYS_ioctl, fds[0], FIONREAD, &n);
                record(r == 0 && n == 3 ? 0 : -1, EXPECT_SUCCESS, 0, "ioctl(FIONREAD) on a pipe works");
                (void) close(fds[0]);
                (void) close(fds[1]);
        } else
                record(-1, EXPECT_SUCCESS, 0, "pipe2() works");
}

/* W^X: what the unit's MemoryDenyWriteExecute= did, now the agent's own. */
static void probe_memory(void) {
        void *p;
        long r;

        errno = 0;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        record(p == MAP_FAILED ? -1 : 0, EXPECT_ERRNO, EPERM, "mmap(PROT_WRITE|PROT_EXEC) fails with EPERM");
        errno = 0;
        r = syscall(SYS_mmap, NULL, 4096UL, (1UL << 32) | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1L, 0L);
        record(r == -1 ? -1 : 0, EXPECT_ERRNO, EPERM, "mmap(PROT_WRITE|PROT_EXEC | 1<<32) fails with EPERM");
        errno = 0;
        p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        record(p == MAP_FAILED ? -1 : 0, EXPECT_SUCCESS, 0, "mmap(PROT_READ|PROT_EXEC) works (shared libraries)");
        errno = 0;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        record(p == MAP_FAILED ? -1 : 0, EXPECT_SUCCESS, 0, "mmap(PROT_READ|PROT_WRITE) works");
        if (p == MAP_FAILED)
                return;
        errno = 0;
        r = mprotect(p, 4096, PROT_READ | PROT_EXEC);
        record(r, EXPECT_ERRNO, EPERM, "mprotect() of written memory to PROT_EXEC fails with EPERM");
        errno = 0;
        r = mprotect(p, 4096, PROT_READ);
        record(r, EXPECT_SUCCESS, 0, "mprotect(PROT_READ) works (RELRO)");
}

/* Protection keys fail with EPERM for every agent, W^X or not. */
static void probe_pkeys(void) {
        long r;

        errno = 0;
        r = syscall(SYS_pkey_alloc, 0L, 0L);
        record(r, EXPECT_ERRNO, EPERM, "pkey_alloc() fails with EPERM (no SIGSYS; runtimes fall back)");
        errno = 0;
        r = syscall(SYS_pkey_mprotect, BAD, 4096L, (long) (PROT_READ | PROT_EXEC), 0L);
        record(r, EXPECT_ERRNO, EPERM, "pkey_mprotect() fails with EPERM (it would get around W^X)");
        errno = 0;
        r = syscall(SYS_pkey_free, 0L);
        record(r, EXPECT_ERRNO, EPERM, "pkey_free() fails with EPERM");
}

/* MemoryDenyWriteExecute=no: a JIT's code pages, and nothing else lifted. */
static void probe_write_execute_allowed(void) {
        unsigned char *p;
        long r;

        errno = 0;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        record(p == MAP_FAILED ? -1 : 0, EXPECT_SUCCESS, 0, "MemoryDenyWriteExecute=no: mmap(PROT_WRITE|PROT_EXEC) works");
        if (p != MAP_FAILED) {
#if defined(__x86_64__)
                /* mov eax, 42; ret: code the agent wrote runs. */
                static const unsigned char code[] = { 0xb8, 42, 0, 0, 0, 0xc3 };
                memcpy(p, code, sizeof code);
                r = ((int (*)(void)) (void *) p)();
                record(r == 42 ? 0 : -1, EXPECT_SUCCESS, 0, "MemoryDenyWriteExecute=no: code written to it runs");
#endif
        }
        errno = 0;
        p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        r = p == MAP_FAILED ? -1 : mprotect(p, 4096, PROT_READ | PROT_EXEC);
        record(r, EXPECT_SUCCESS, 0, "MemoryDenyWriteExecute=no: mprotect() of written memory to PROT_EXEC works");
        probe_pkeys();
        errno = 0;
        r = syscall(SYS_unshare, (long) CLONE_NEWUSER);
        record(r, EXPECT_ERRNO, EPERM, "MemoryDenyWriteExecute=no: unshare(CLONE_NEWUSER) still fails with EPERM");
        errno = 0;
        r = syscall(SYS_personality, (long) READ_IMPLIES_EXEC);
        record(r, EXPECT_ERRNO, EPERM, "MemoryDenyWriteExecute=no: personality(READ_IMPLIES_EXEC) still fails");
        errno = 0;
        r = syscall(SYS_memfd_create, "x", 0L);
        record(r, EXPECT_ERRNO, EPERM, "MemoryDenyWriteExecute=no: memfd_create() still fails");
}

static void probe_memfd(void) {
        errno = 0;
        long r = syscall(SYS_memfd_create, "x", 0U);
        record(r, EXPECT_ERRNO, EPERM, "memfd_create() fails with EPERM (a memfd could be executed)");
}

static void probe_files(void) {
        char path[sizeof tmpdir + 16], buf[16] = {};
        struct stat st;
        int fd, dfd;
        long r;

        snprintf(path, sizeof path, "%s/file", tmpdir);

        errno = 0;
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        record(fd, EXPECT_SUCCESS, 0, "open(O_CREAT) works");
        if (fd < 0)
                return;

        errno = 0;
        r = write(fd, "hello", 5);
        record(r == 5 ? 0 : -1, EXPECT_SUCCESS, 0, "write() works");
        errno = 0;
        r = pread(fd, buf, sizeof buf - 1, 0);
        record(r == 5 && streq(buf, "hello") ? 0 : -1, EXPECT_SUCCESS, 0, "pread() reads it back");
        errno = 0;
        r = fstat(fd, &st);
        record(r == 0 && st.st_size == 5 ? 0 : -1, EXPECT_SUCCESS, 0, "fstat() works");
        errno = 0;
        r = fsync(fd);
        record(r, EXPECT_SUCCESS, 0, "fsync() works");
        (void) close(fd);

        errno = 0;
        dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        record(dfd, EXPECT_SUCCESS, 0, "open(O_DIRECTORY) works");
        if (dfd >= 0) {
                char dents[1024];
                errno = 0;
                r = syscall(SYS_getdents64, dfd, dents, sizeof dents);
                record(r > 0 ? 0 : -1, EXPECT_SUCCESS, 0, "getdents64() works");
                errno = 0;
                r = renameat(dfd, "file", dfd, "file2");
                record(r, EXPECT_SUCCESS, 0, "renameat() works");
                errno = 0;
                r = unlinkat(dfd, "file2", 0);
                record(r, EXPECT_SUCCESS, 0, "unlinkat() works");
                (void) close(dfd);
        }
}

static void probe_foreign_arch(void) {
#if defined(__x86_64__)
        long r;

        /* x32 numbers carry bit 30; libseccomp's x86-64 filter sends them to
         * the bad-architecture action. Without the filter: ENOSYS. */
        errno = 0;
        r = syscall(0x40000000L | SYS_getpid);
        record(r, EXPECT_ERRNO, EPERM, "x32 getpid() fails with EPERM");

        if (ia32_available > 0) {
                /* i386 getpid (20) through int 0x80. */
                __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
                errno = r < 0 ? (int) -r : 0;
                record(r < 0 ? -1 : r, EXPECT_ERRNO, EPERM, "i386 getpid() via int 0x80 fails with EPERM");
        }
#endif
}

/* A glibc-dynamic shell and its children run under the filter. */
static void probe_exec(void) {
        char script[512];
        int status = 0;
        pid_t pid;

        snprintf(script, sizeof script,
                 "set -e; cd '%s'; echo hi > f; test \"$(cat f)\" = hi; ls -la . >/dev/null; "
                 "mkdir d; rmdir d; rm f; sleep 0.01; (exit 0) | cat; date >/dev/null",
                 tmpdir);

        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDOUT_FILENO);
                execl("/bin/sh", "sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        if (pid > 0 && waitpid(pid, &status, 0) != pid)
                pid = -1;
        errno = 0;
        record(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1, EXPECT_SUCCESS, 0,
               "/bin/sh runs a small script (cat, ls, mkdir, rm, sleep, date) (status 0x%x)", (unsigned) status);

        if (!arg_python)
                return;

        static const char py[] =
                "import json, os, socket, subprocess, tempfile, threading\n"
                "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
                "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM); s.bind(('127.0.0.1', 0)); s.listen(); s.close()\n"
                "a, b = socket.socketpair(); a.send(b'x'); assert b.recv(1) == b'x'\n"
                "subprocess.run(['/bin/true'], check=True)\n"
                "d = tempfile.mkdtemp(dir=os.environ['T']); open(d + '/x', 'w').write(json.dumps([1]))\n"
                "os.unlink(d + '/x'); os.rmdir(d)\n";

        pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDOUT_FILENO);
                (void) setenv("T", tmpdir, 1);
                execl(arg_python, "python3", "-I", "-c", py, (char *) NULL);
                _exit(127);
        }
        if (pid > 0 && waitpid(pid, &status, 0) != pid)
                pid = -1;
        errno = 0;
        record(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1, EXPECT_SUCCESS, 0,
               "python3 runs threads, sockets, subprocess and files (status 0x%x)", (unsigned) status);
}

static bool probe_ok(const Probe *p) {
        switch (p->expect) {
        case EXPECT_SUCCESS:
                return p->ret >= 0;
        case EXPECT_ERRNO:
                return p->ret == -1 && p->error == p->expected_errno;
        case EXPECT_NOT_FILTERED:
                return p->ret >= 0 || p->error != EPERM;
        }
        return false;
}

static int make_filter_flags(char *const *extra, size_t n_extra, SeccompPolicyFlags flags) {
        int fd = memfd_create("agent-seccomp", MFD_CLOEXEC);
        int r;

        if (fd < 0)
                return -errno;
        r = seccomp_policy_write_bpf(extra, n_extra, flags, fd);
        if (r < 0 || lseek(fd, 0, SEEK_SET) < 0) {
                (void) close(fd);
                return r < 0 ? r : -errno;
        }
        return fd;
}

static int make_filter(char *const *extra, size_t n_extra) {
        return make_filter_flags(extra, n_extra, 0);
}

/* Forks a child that loads the filter from bpf_fd and runs fn; returns its
 * wait status. */
static int run_filtered(int bpf_fd, void (*fn)(void)) {
        int status;
        pid_t pid;

        shared->n = 0;
        shared->finished = false;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* No controlling terminal: vhangup() must find nothing to hang
                 * up even if the filter let it through. */
                (void) setsid();
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        _exit(90);
                if (seccomp_policy_load_bpf_fd(bpf_fd) < 0)
                        _exit(91);
                fn();
                shared->finished = true;
                _exit(0);
        }

        if (waitpid(pid, &status, 0) != pid)
                return -errno;
        return status;
}

static void report(const char *label, int status) {
        CHECK_MSG(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "%s: the filtered child loaded the filter and exited cleanly (status 0x%x)", label, (unsigned) status);
        CHECK_MSG(shared->finished, "%s: the filtered child ran every probe", label);

        for (int i = 0; i < shared->n; i++) {
                const Probe *p = shared->probes + i;

                if (!probe_ok(p))
                        printf("#   returned %ld, errno %d (%s)\n", p->ret, p->error, strerror(p->error));
                tap_check(probe_ok(p), p->what, __FILE__, __LINE__);
        }
}

static void all_probes(void) {
        probe_never_allowed();
        probe_clone();
        probe_processes();
        probe_sockets();
        probe_personality_ioctl();
        probe_memory();
        probe_pkeys();
        probe_memfd();
        probe_files();
        probe_foreign_arch();
        probe_exec();
}

static void probe_no_extra(void) {
        errno = 0;
        long r = syscall(SYS_syncfs, BAD);
        record(r, EXPECT_ERRNO, EPERM, "without the extra, syncfs() fails with EPERM");
}

static void probe_bad_file(void) {
}

static void detect_ia32(void) {
#if defined(__x86_64__)
        int status;
        pid_t pid = fork();

        if (pid == 0) {
                long r;
                __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
                _exit(r == getpid() ? 0 : 1);
        }
        ia32_available = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
#endif
}

int main(int argc, char *argv[]) {
        char *extra[] = { (char *) "syncfs" };
        _cleanup_close_ int bpf_fd = -EBADF, plain_fd = -EBADF, bad_fd = -EBADF, wx_fd = -EBADF;
        const char *name;
        int status;

        arg_python = argc > 1 ? argv[1] : NULL;

        shared = mmap(NULL, sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (shared == MAP_FAILED || !mkdtemp(tmpdir)) {
                printf("Bail out! setup failed: %s\n", strerror(errno));
                return 1;
        }

        detect_ia32();

        bpf_fd = make_filter(extra, ELEMENTSOF(extra));
        CHECK_MSG(bpf_fd >= 0, "the filter (with extra syncfs) is built");
        plain_fd = make_filter(NULL, 0);
        CHECK_MSG(plain_fd >= 0, "the default filter is built");
        if (bpf_fd < 0 || plain_fd < 0)
                return tap_finish();

        /* Names of the never-allowed list this architecture does not have
         * need no rule: say so rather than skip silently. */
        for (size_t i = 0; (name = seccomp_policy_never_name(i, NULL, NULL)); i++)
                if (seccomp_syscall_resolve_name(name) < 0)
                        CHECK_MSG(seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR,
                                  "%s() does not exist on this architecture: nothing to block", name);

        status = run_filtered(bpf_fd, all_probes);
        report("with extra syncfs", status);

#if defined(__x86_64__)
        if (ia32_available <= 0)
                printf("ok %d - i386 syscalls via int 0x80 # SKIP this kernel has no IA32 emulation\n", ++tap_n);
#endif

        status = run_filtered(plain_fd, probe_no_extra);
        report("default filter", status);

        /* The same default filter refuses W+X (probe_memory above, with the
         * extra); MemoryDenyWriteExecute=no lifts exactly that. */
        CHECK(lseek(plain_fd, 0, SEEK_SET) == 0); /* the child read it to the end */
        status = run_filtered(plain_fd, probe_memory);
        report("default filter (MemoryDenyWriteExecute=yes)", status);
        wx_fd = make_filter_flags(NULL, 0, SECCOMP_POLICY_ALLOW_WRITE_EXECUTE);
        CHECK_MSG(wx_fd >= 0, "the filter with MemoryDenyWriteExecute=no is built");
        if (wx_fd >= 0) {
                status = run_filtered(wx_fd, probe_write_execute_allowed);
                report("MemoryDenyWriteExecute=no", status);
        }

        /* A file that is not a whole number of instructions is refused. */
        bad_fd = memfd_create("bad", MFD_CLOEXEC);
        if (bad_fd >= 0 && write(bad_fd, "1234567", 7) == 7 && lseek(bad_fd, 0, SEEK_SET) == 0) {
                status = run_filtered(bad_fd, probe_bad_file);
                CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 91,
                          "a truncated BPF file is refused by the loader");
        }

        {
                char path[sizeof tmpdir + 16];
                snprintf(path, sizeof path, "%s/file", tmpdir);
                (void) unlink(path);
                (void) rmdir(tmpdir);
        }

        return tap_finish();
}
