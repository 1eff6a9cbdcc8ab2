/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The agent seccomp policy.
 *
 * An agent runs inside systemd-nspawn, which applies its own (broad) filter;
 * agent-init stacks this one on top right before it execs the agent, so the
 * agent gets the intersection. This filter is an allow-list: whatever is not
 * listed below fails with EPERM. It is deliberately small: enough for a static
 * or glibc-dynamic program, a shell, an interpreter, threads and TCP/UDP
 * networking. An operator can add single syscalls per agent
 * ([Security] SystemCalls=), except those on the never-allowed list and the
 * argument-filtered ones, whose filter would be lifted by an unconditional
 * rule.
 *
 * Both tables are the single source: the BPF program, the OCI JSON profile,
 * the size report and the tests all walk them. This file holds the tables,
 * their expansion into libseccomp rules and the lookups; the writers (BPF,
 * OCI JSON, Markdown) are policy-write.c. */

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <pthread.h>

#include "macro.h"
#include "policy-rules.h"

/* Argument filters. Each names a syscall whose risk is in its arguments; the
 * syscall is allowed only when the arguments pass. */
typedef enum ArgFilter {
        ARG_NONE = 0,
        ARG_CLONE_NO_NAMESPACES,
        ARG_SOCKET_FAMILIES,
        ARG_SOCKETPAIR_UNIX,
        ARG_PERSONALITY_LINUX,
        ARG_IOCTL_NO_TIOCSTI,
        ARG_MMAP_NO_WX,
        ARG_MPROTECT_NO_EXEC,
        _ARG_MAX,
} ArgFilter;

/* Why an argument-filtered syscall may not be added unconditionally. */
static const char *const arg_filter_reason[_ARG_MAX] = {
        [ARG_CLONE_NO_NAMESPACES] = "allowed only without namespace flags (CLONE_NEWUSER and friends open the kernel's "
                                    "namespace attack surface); an unconditional rule would lift that filter",
        [ARG_SOCKET_FAMILIES] = "allowed only for AF_UNIX, and AF_INET/AF_INET6 TCP and UDP (netlink, packet, vsock and "
                                "rarely used protocols are kernel attack surface); an unconditional rule would lift that filter",
        [ARG_SOCKETPAIR_UNIX] = "allowed only for AF_UNIX; an unconditional rule would lift that filter",
        [ARG_PERSONALITY_LINUX] = "allowed only to query or to set PER_LINUX (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and "
                                  "friends weaken exploit mitigations); an unconditional rule would lift that filter",
        [ARG_IOCTL_NO_TIOCSTI] = "allowed except TIOCSTI (injecting input into the controlling terminal); an "
                                 "unconditional rule would lift that filter",
        [ARG_MMAP_NO_WX] = "allowed except for memory that is writable and executable at once (code the agent "
                           "writes must not run); an unconditional rule would lift that filter",
        [ARG_MPROTECT_NO_EXEC] = "allowed except making memory executable (code the agent wrote into memory must "
                                 "not run); an unconditional rule would lift that filter",
};

typedef struct AllowEntry {
        const char *name;
        ArgFilter filter;
} AllowEntry;

/* The allow-list. Legacy names (open, stat, fork, …) are kept for old static
 * binaries; on architectures that lack them they resolve to pseudo numbers and
 * are skipped. */
static const AllowEntry allow_list[] = {
        /* --- process lifecycle and threads --- */
        { "execve" },
        { "execveat" },
        { "exit" },
        { "exit_group" },
        { "wait4" },
        { "waitid" },
        { "fork" },
        { "vfork" },
        { "clone", ARG_CLONE_NO_NAMESPACES },   /* clone3: see never_list, ENOSYS */
        { "set_tid_address" },
        { "set_robust_list" },
        { "rseq" },
        { "futex" },
        { "arch_prctl" },                      /* x86: TLS setup by libc */
        { "prctl" },                           /* PR_SET_NAME, PR_SET_PDEATHSIG, …: the risky options need capabilities */
        { "personality", ARG_PERSONALITY_LINUX },
        { "membarrier" },                      /* JITs and RCU libraries */
        { "sched_yield" },
        { "sched_getaffinity" },               /* nproc, thread pool sizing */
        { "sched_getparam" },
        { "sched_getscheduler" },
        { "sched_get_priority_max" },
        { "sched_get_priority_min" },
        { "getpriority" },
        { "setpriority" },                     /* lowering one's own priority; raising needs CAP_SYS_NICE */

        /* --- identity and limits (read-only, or only ever lowering) --- */
        { "getpid" },
        { "getppid" },
        { "gettid" },
        { "getpgid" },
        { "getpgrp" },
        { "setpgid" },                         /* shells: job control */
        { "getsid" },
        { "setsid" },
        { "getuid" },
        { "geteuid" },
        { "getgid" },
        { "getegid" },
        { "getgroups" },
        { "getresuid" },
        { "getresgid" },
        { "capget" },
        { "getrlimit" },
        { "setrlimit" },
        { "prlimit64" },                       /* raising a hard limit needs CAP_SYS_RESOURCE */
        { "getrusage" },
        { "times" },
        { "uname" },
        { "sysinfo" },
        { "getcpu" },
        { "getrandom" },
        { "umask" },

        /* --- memory --- */
        { "brk" },
        /* W^X, as systemd's MemoryDenyWriteExecute= does it, but in the
         * agent's own filter (the unit sets none, so that one agent can be
         * given a JIT without lifting it for the supervisor): no mapping
         * both writable and executable, and no mprotect() to executable. */
        { "mmap", ARG_MMAP_NO_WX },
        { "munmap" },
        { "mprotect", ARG_MPROTECT_NO_EXEC },
        /* Not pkey_*: see the never-allowed list. */
        { "mremap" },
        { "madvise" },
        { "msync" },
        { "mlock" },                           /* bounded by RLIMIT_MEMLOCK */
        { "munlock" },
        /* Not memfd_create: a memfd is a file the agent writes and could
         * execute, and neither a noexec mount nor Landlock covers it. A
         * definition may add it back with SystemCalls=. */

        /* --- files: descriptors and I/O --- */
        { "open" },
        { "openat" },
        { "openat2" },
        { "close" },
        { "close_range" },
        { "read" },
        { "write" },
        { "readv" },
        { "writev" },
        { "pread64" },
        { "pwrite64" },
        { "preadv" },
        { "pwritev" },
        { "preadv2" },
        { "pwritev2" },
        { "lseek" },
        { "dup" },
        { "dup2" },
        { "dup3" },
        { "fcntl" },
        { "flock" },
        { "pipe" },
        { "pipe2" },
        { "ioctl", ARG_IOCTL_NO_TIOCSTI },
        { "fsync" },
        { "fdatasync" },
        { "fadvise64" },
        { "ftruncate" },
        { "truncate" },
        { "fallocate" },
        { "sendfile" },
        { "copy_file_range" },
        { "splice" },
        { "tee" },

        /* --- files: metadata and directories --- */
        { "stat" },
        { "fstat" },
        { "lstat" },
        { "newfstatat" },
        { "statx" },
        { "statfs" },
        { "fstatfs" },
        { "access" },
        { "faccessat" },
        { "faccessat2" },
        { "readlink" },
        { "readlinkat" },
        { "getdents" },
        { "getdents64" },
        { "getcwd" },
        { "chdir" },
        { "fchdir" },
        { "mkdir" },
        { "mkdirat" },
        { "rmdir" },
        { "unlink" },
        { "unlinkat" },
        { "rename" },
        { "renameat" },
        { "renameat2" },
        { "link" },
        { "linkat" },
        { "symlink" },
        { "symlinkat" },
        { "mknod" },                           /* FIFOs; device nodes need CAP_MKNOD */
        { "mknodat" },
        { "chmod" },
        { "fchmod" },
        { "fchmodat" },
        { "fchmodat2" },                       /* newer glibc tries it first and falls back only on ENOSYS */
        { "chown" },                           /* only to oneself without CAP_CHOWN */
        { "fchown" },
        { "fchownat" },
        { "lchown" },
        { "utimensat" },
        { "getxattr" },                        /* reading xattrs: ls -l, cp */
        { "lgetxattr" },
        { "fgetxattr" },
        { "listxattr" },
        { "llistxattr" },
        { "flistxattr" },
        { "inotify_init1" },
        { "inotify_add_watch" },
        { "inotify_rm_watch" },

        /* --- time (reading clocks, sleeping, timers; never setting clocks) --- */
        { "clock_gettime" },
        { "clock_getres" },
        { "clock_nanosleep" },
        { "nanosleep" },
        { "gettimeofday" },
        { "time" },
        { "alarm" },
        { "getitimer" },
        { "setitimer" },
        { "timer_create" },
        { "timer_settime" },
        { "timer_gettime" },
        { "timer_getoverrun" },
        { "timer_delete" },
        { "timerfd_create" },
        { "timerfd_settime" },
        { "timerfd_gettime" },

        /* --- signals --- */
        { "rt_sigaction" },
        { "rt_sigprocmask" },
        { "rt_sigreturn" },
        { "rt_sigpending" },
        { "rt_sigtimedwait" },
        { "rt_sigsuspend" },
        { "restart_syscall" },                 /* the kernel restarts interrupted sleeps with it */
        { "sigaltstack" },
        { "pause" },
        { "kill" },                            /* the PID namespace bounds whom */
        { "tgkill" },
        { "tkill" },
        { "signalfd" },
        { "signalfd4" },
        { "pidfd_open" },
        { "pidfd_send_signal" },

        /* --- waiting for events --- */
        { "poll" },
        { "ppoll" },
        { "select" },
        { "pselect6" },
        { "epoll_create" },
        { "epoll_create1" },
        { "epoll_ctl" },
        { "epoll_wait" },
        { "epoll_pwait" },
        { "epoll_pwait2" },
        { "eventfd" },
        { "eventfd2" },

        /* --- sockets (without a network namespace route they reach nothing) --- */
        { "socket", ARG_SOCKET_FAMILIES },
        { "socketpair", ARG_SOCKETPAIR_UNIX },
        { "bind" },
        { "listen" },
        { "accept" },
        { "accept4" },
        { "connect" },
        { "getsockname" },
        { "getpeername" },
        { "sendto" },
        { "recvfrom" },
        { "sendmsg" },
        { "recvmsg" },
        { "sendmmsg" },
        { "recvmmsg" },
        { "shutdown" },
        { "setsockopt" },
        { "getsockopt" },
};

typedef struct NeverEntry {
        const char *name;
        const char *reason;
        int error;  /* 0: the default EPERM; else this errno is returned by an explicit rule */
} NeverEntry;

/* Syscalls an agent never gets, not even when its definition asks. Most would
 * fail anyway without capabilities; this list is the second wall, and the one
 * that also covers what capabilities do not (user namespaces, io_uring,
 * userfaultfd, …). */
static const NeverEntry never_list[] = {
        /* --- the filesystem tree: the container's view must stay what nspawn made it --- */
        { "mount", "mounting changes the container's filesystem view" },
        { "umount", "unmounting could reveal what the container's mounts hide" },
        { "umount2", "unmounting could reveal what the container's mounts hide" },
        { "move_mount", "new mount API: rearranges mounts" },
        { "fsopen", "new mount API: creates filesystem contexts" },
        { "fsconfig", "new mount API: configures filesystem contexts" },
        { "fsmount", "new mount API: creates mounts" },
        { "fspick", "new mount API: reconfigures existing mounts" },
        { "open_tree", "new mount API: clones mount trees" },
        { "mount_setattr", "changes mount flags (could drop nosuid, noexec, read-only)" },
        { "pivot_root", "changes the root of the mount namespace" },
        { "chroot", "changes the root directory; a classic step of escapes" },
        { "open_by_handle_at", "opens files by handle, bypassing the path walk and the container's root (the 'shocker' escape)" },
        { "name_to_handle_at", "produces file handles for open_by_handle_at and leaks inode identities" },

        /* --- namespaces --- */
        { "unshare", "new namespaces (a user namespace above all) regain capabilities and open kernel attack surface" },
        { "setns", "joining other namespaces leaves the container" },
        { "clone3", "its flags sit in a struct in memory that seccomp cannot inspect; ENOSYS makes libc fall back to "
                    "clone(), whose flags are checked",
          ENOSYS },

        /* --- other processes' memory and descriptors --- */
        { "ptrace", "debugging other processes: read and write their memory and registers" },
        { "process_vm_readv", "reads another process's memory" },
        { "process_vm_writev", "writes another process's memory" },
        { "process_madvise", "changes another process's memory management" },
        { "pidfd_getfd", "steals file descriptors from another process" },
        { "kcmp", "compares kernel objects of other processes: an information leak used against KASLR" },

        /* --- programming, tracing and stalling the kernel --- */
        { "bpf", "loads programs into the kernel; a large attack surface" },
        { "perf_event_open", "kernel and hardware performance monitoring: side channels, frequent kernel bugs" },
        { "userfaultfd", "stalls kernel page faults at will, the standard tool to win kernel race conditions" },
        { "io_uring_setup", "io_uring is a second syscall interface seccomp cannot filter, and a frequent source of kernel bugs" },
        { "io_uring_enter", "io_uring is a second syscall interface seccomp cannot filter, and a frequent source of kernel bugs" },
        { "io_uring_register", "io_uring is a second syscall interface seccomp cannot filter, and a frequent source of kernel bugs" },
        { "lookup_dcookie", "kernel profiling interface (oprofile)" },
        { "fanotify_init", "watches and intercepts file access filesystem-wide" },

        /* --- kernel keyrings: not namespaced --- */
        { "add_key", "kernel keyrings are not namespaced: keys leak between containers" },
        { "request_key", "kernel keyrings are not namespaced: keys leak between containers" },
        { "keyctl", "kernel keyrings are not namespaced: keys leak between containers" },

        /* --- loading kernel code --- */
        { "kexec_load", "replaces the running kernel" },
        { "kexec_file_load", "replaces the running kernel" },
        { "init_module", "loads kernel modules" },
        { "finit_module", "loads kernel modules" },
        { "delete_module", "unloads kernel modules" },
        { "create_module", "obsolete module interface" },
        { "query_module", "obsolete module interface" },
        { "get_kernel_syms", "obsolete module interface; leaks kernel addresses" },

        /* --- clocks: time is not namespaced for setting --- */
        { "clock_settime", "sets the host's clock" },
        { "clock_adjtime", "adjusts the host's clock" },
        { "adjtimex", "adjusts the host's clock" },
        { "settimeofday", "sets the host's clock" },
        { "stime", "sets the host's clock" },

        /* --- whole-system state --- */
        { "reboot", "reboots or halts the host (or the container)" },
        { "swapon", "changes the host's swap" },
        { "swapoff", "changes the host's swap" },
        { "acct", "switches process accounting of the host" },
        { "quotactl", "manipulates filesystem quotas" },
        { "quotactl_fd", "manipulates filesystem quotas" },
        { "syslog", "reads or clears the kernel log (kernel addresses, other tenants' messages)" },
        { "sethostname", "changes the host name (the UTS namespace may be shared)" },
        { "setdomainname", "changes the NIS domain name (the UTS namespace may be shared)" },
        { "vhangup", "hangs up the current terminal for every process on it" },
        { "_sysctl", "obsolete sysctl interface" },
        { "nfsservctl", "obsolete NFS server interface" },
        { "uselib", "obsolete a.out library loading with a history of kernel bugs" },
        { "ustat", "obsolete; reports on arbitrary devices" },
        { "sysfs", "obsolete filesystem-type interface" },

        /* --- memory placement of the whole machine --- */
        { "mbind", "NUMA placement: can starve other tenants of a node" },
        { "set_mempolicy", "NUMA placement: can starve other tenants of a node" },
        { "migrate_pages", "moves other processes' pages between NUMA nodes" },
        { "move_pages", "moves other processes' pages between NUMA nodes" },

        /* --- memory protection keys: all three fail with EPERM, whatever
         * MemoryDenyWriteExecute= says. V8 (Node.js 18 calls pkey_alloc at
         * start, even with --jitless) and glibc take a failed pkey_alloc()
         * as "no protection keys" and go on; the unit's own filter refuses
         * them with the same EPERM, so nothing dies of SIGSYS. --- */
        { "pkey_mprotect", "mprotect() with a protection key: allowed, it would be the way around the W^X rule on mprotect()" },
        { "pkey_alloc", "protection keys are not offered to agents (runtimes fall back when pkey_alloc fails)" },
        { "pkey_free", "protection keys are not offered to agents (runtimes fall back when pkey_alloc fails)" },

        /* --- raw hardware (x86) --- */
        { "iopl", "raw I/O port access" },
        { "ioperm", "raw I/O port access" },
        { "modify_ldt", "x86 segment tables: only ancient code needs them, and they have a history of kernel bugs" },
        { "vm86", "virtual 8086 mode: a history of kernel bugs" },
        { "vm86old", "virtual 8086 mode: a history of kernel bugs" },
};

/* Namespace flags clone() must not carry. CLONE_NEWTIME shares its bit with
 * CSIGNAL in clone() (the kernel takes it as part of the exit signal there,
 * and no valid signal has that bit), so listing it costs nothing and keeps
 * the mask honest if that ever changes. */
#define CLONE_NAMESPACE_FLAGS                                                                   \
        ((uint64_t) (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | \
                     CLONE_NEWIPC | CLONE_NEWCGROUP | CLONE_NEWTIME))

/* s390 swaps clone()'s first two arguments. */
#if defined(__s390__) || defined(__s390x__)
#  define CLONE_FLAGS_ARG 1
#else
#  define CLONE_FLAGS_ARG 0
#endif

/* The kernel takes socket()'s type modulo this mask (SOCK_NONBLOCK and
 * SOCK_CLOEXEC live above it). */
#define SOCKET_TYPE_MASK 0xfU

/* The socket() triples allowed: family, type, protocol (-1: any protocol;
 * AF_UNIX refuses every protocol but 0 itself). Restricting the protocol
 * matters: socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) would auto-load a rarely
 * used protocol module into the host kernel. */
static const struct {
        int family, type, protocol;
} socket_allowed[] = {
        { AF_UNIX, SOCK_STREAM, -1 },
        { AF_UNIX, SOCK_DGRAM, -1 },
        { AF_UNIX, SOCK_SEQPACKET, -1 },
        { AF_INET, SOCK_STREAM, 0 },
        { AF_INET, SOCK_STREAM, IPPROTO_TCP },
        { AF_INET, SOCK_DGRAM, 0 },
        { AF_INET, SOCK_DGRAM, IPPROTO_UDP },
        { AF_INET6, SOCK_STREAM, 0 },
        { AF_INET6, SOCK_STREAM, IPPROTO_TCP },
        { AF_INET6, SOCK_DGRAM, 0 },
        { AF_INET6, SOCK_DGRAM, IPPROTO_UDP },
};

/* personality(): PER_LINUX, and 0xffffffff which only queries. The kernel
 * takes the argument as unsigned int; (unsigned long) -1 therefore queries too
 * and is what personality(-1) passes. Any other value fails (fail-safe: extra
 * high bits do not match). */
static const uint64_t personality_allowed[] = {
        PER_LINUX,
        UINT64_C(0xffffffff),
        UINT64_MAX,
};


/* Resolves NAME on the native architecture. Returns the number (>= 0), a
 * negative pseudo number (< 0, but not __NR_SCMP_ERROR) for a syscall
 * libseccomp knows but this architecture lacks, or __NR_SCMP_ERROR. */
static int resolve(const char *name) {
        return seccomp_syscall_resolve_name(name);
}

static int emit(policy_rule_func_t f, void *userdata, PolicyRule *rule, unsigned n_cmp) {
        rule->n_cmp = n_cmp;
        return f(rule, userdata);
}

/* Expands an allow-list entry into its libseccomp rules. */
static int expand_allow(const AllowEntry *e, int nr, SeccompPolicyFlags flags, policy_rule_func_t f, void *userdata) {
        PolicyRule rule = {
                .name = e->name,
                .nr = nr,
                .action = SCMP_ACT_ALLOW,
        };
        int r;

        /* MemoryDenyWriteExecute=no: this agent's JIT may map and make
         * executable what it wrote. Only the W^X filters are lifted. */
        if ((flags & SECCOMP_POLICY_ALLOW_WRITE_EXECUTE) &&
            (e->filter == ARG_MMAP_NO_WX || e->filter == ARG_MPROTECT_NO_EXEC))
                return emit(f, userdata, &rule, 0);

        switch (e->filter) {

        case ARG_NONE:
                return emit(f, userdata, &rule, 0);

        case ARG_CLONE_NO_NAMESPACES:
                rule.cmp[0] = SCMP_CMP(CLONE_FLAGS_ARG, SCMP_CMP_MASKED_EQ, CLONE_NAMESPACE_FLAGS, 0);
                return emit(f, userdata, &rule, 1);

        case ARG_SOCKET_FAMILIES:
                for (size_t i = 0; i < ELEMENTSOF(socket_allowed); i++) {
                        unsigned n = 0;

                        rule.cmp[n++] = SCMP_A0(SCMP_CMP_EQ, (uint64_t) socket_allowed[i].family);
                        rule.cmp[n++] = SCMP_A1(SCMP_CMP_MASKED_EQ, SOCKET_TYPE_MASK, (uint64_t) socket_allowed[i].type);
                        if (socket_allowed[i].protocol >= 0)
                                rule.cmp[n++] = SCMP_A2(SCMP_CMP_EQ, (uint64_t) socket_allowed[i].protocol);
                        r = emit(f, userdata, &rule, n);
                        if (r < 0)
                                return r;
                }
                return 0;

        case ARG_SOCKETPAIR_UNIX:
                rule.cmp[0] = SCMP_A0(SCMP_CMP_EQ, (uint64_t) AF_UNIX);
                return emit(f, userdata, &rule, 1);

        case ARG_PERSONALITY_LINUX:
                for (size_t i = 0; i < ELEMENTSOF(personality_allowed); i++) {
                        rule.cmp[0] = SCMP_A0(SCMP_CMP_EQ, personality_allowed[i]);
                        r = emit(f, userdata, &rule, 1);
                        if (r < 0)
                                return r;
                }
                return 0;

        case ARG_IOCTL_NO_TIOCSTI:
                /* The kernel truncates the request to 32 bits, so a plain
                 * "a1 != TIOCSTI" would let TIOCSTI|1<<32 through, and
                 * libseccomp can neither combine an unconditional allow with a
                 * deny nor compare one argument twice in a rule. So: one allow
                 * rule per low bit, each matching requests that differ from
                 * TIOCSTI in that bit. Their union is "the low 32 bits are not
                 * TIOCSTI", whatever the high bits hold. */
                for (unsigned bit = 0; bit < 32; bit++) {
                        uint64_t mask = UINT64_C(1) << bit;

                        rule.cmp[0] = SCMP_A1(SCMP_CMP_MASKED_EQ, mask, ~(uint64_t) TIOCSTI & mask);
                        r = emit(f, userdata, &rule, 1);
                        if (r < 0)
                                return r;
                }
                return 0;

        case ARG_MMAP_NO_WX:
                /* Two allow rules, their union: not both bits. The kernel
                 * takes prot as an int; bits above it cannot matter. */
                rule.cmp[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
                r = emit(f, userdata, &rule, 1);
                if (r < 0)
                        return r;
                rule.cmp[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_WRITE, 0);
                return emit(f, userdata, &rule, 1);

        case ARG_MPROTECT_NO_EXEC:
                rule.cmp[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
                return emit(f, userdata, &rule, 1);

        case _ARG_MAX:
                break;
        }

        return -EINVAL;
}

int policy_foreach_rule(SeccompPolicyFlags flags, policy_rule_func_t f, void *userdata) {
        int r;

        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++) {
                int nr = resolve(allow_list[i].name);
                if (nr == __NR_SCMP_ERROR)
                        return -EINVAL;
                if (nr < 0)
                        continue;

                r = expand_allow(allow_list + i, nr, flags, f, userdata);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < ELEMENTSOF(never_list); i++) {
                int nr;

                if (never_list[i].error == 0 || never_list[i].error == EPERM)
                        continue;

                nr = resolve(never_list[i].name);
                if (nr == __NR_SCMP_ERROR)
                        return -EINVAL;
                if (nr < 0)
                        continue;

                PolicyRule rule = {
                        .name = never_list[i].name,
                        .nr = nr,
                        .action = SCMP_ACT_ERRNO((uint32_t) never_list[i].error),
                };
                r = f(&rule, userdata);
                if (r < 0)
                        return r;
        }

        return 0;
}

/* The tables' syscall numbers, resolved once: libseccomp's name lookup is a
 * linear scan, and the generator checks every agent's extra syscalls. */
static int allow_nr[ELEMENTSOF(allow_list)];
static int never_nr[ELEMENTSOF(never_list)];
static pthread_once_t numbers_once = PTHREAD_ONCE_INIT;

static void resolve_numbers(void) {
        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++)
                allow_nr[i] = resolve(allow_list[i].name);
        for (size_t i = 0; i < ELEMENTSOF(never_list); i++)
                never_nr[i] = resolve(never_list[i].name);
}

static void numbers(void) {
        (void) pthread_once(&numbers_once, resolve_numbers);
}

static const AllowEntry *find_allowed(const char *name, int nr) {
        numbers();
        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++)
                if (streq(allow_list[i].name, name) || (nr >= 0 && allow_nr[i] == nr))
                        return allow_list + i;
        return NULL;
}

static const NeverEntry *find_never(const char *name, int nr) {
        numbers();
        for (size_t i = 0; i < ELEMENTSOF(never_list); i++)
                if (streq(never_list[i].name, name) || (nr >= 0 && never_nr[i] == nr))
                        return never_list + i;
        return NULL;
}

/* Syscall names are short identifiers; anything else is not worth a lookup. */
#define SYSCALL_NAME_MAX 64

int seccomp_policy_check_extra(const char *name, const char **ret_reason) {
        const NeverEntry *never;
        const AllowEntry *allowed;
        int nr;

        if (!name || name[0] == '\0' || strnlen(name, SYSCALL_NAME_MAX + 1) > SYSCALL_NAME_MAX)
                return -EINVAL;

        nr = resolve(name);
        if (nr == __NR_SCMP_ERROR)
                return -EINVAL;

        /* Checked by name and by number: an alias must not get around the
         * list. Checked before "exists on this architecture" so that e.g.
         * stime on x86-64 still says why it is refused. */
        never = find_never(name, nr);
        if (never) {
                if (ret_reason)
                        *ret_reason = never->reason;
                return -EPERM;
        }

        if (nr < 0)
                return -EINVAL;

        allowed = find_allowed(name, nr);
        if (allowed && allowed->filter != ARG_NONE) {
                if (ret_reason)
                        *ret_reason = arg_filter_reason[allowed->filter];
                return -EPERM;
        }

        return 0;
}

bool policy_is_allowed(const char *name) {
        return find_allowed(name, resolve(name));
}

const char *policy_allowed_filter_reason(size_t i) {
        if (i >= ELEMENTSOF(allow_list) || allow_list[i].filter == ARG_NONE)
                return NULL;
        return arg_filter_reason[allow_list[i].filter];
}

static size_t count_allowed(bool filtered) {
        size_t n = 0;

        numbers();
        for (size_t i = 0; i < ELEMENTSOF(allow_list); i++)
                if ((allow_list[i].filter != ARG_NONE) == filtered && allow_nr[i] >= 0)
                        n++;
        return n;
}

size_t seccomp_policy_n_unconditional(void) {
        return count_allowed(false);
}

size_t seccomp_policy_n_conditional(void) {
        return count_allowed(true);
}

const char *seccomp_policy_allowed_name(size_t i, int *ret_filtered) {
        if (i >= ELEMENTSOF(allow_list))
                return NULL;
        if (ret_filtered)
                *ret_filtered = allow_list[i].filter != ARG_NONE;
        return allow_list[i].name;
}

const char *seccomp_policy_never_name(size_t i, const char **ret_reason, int *ret_errno) {
        if (i >= ELEMENTSOF(never_list))
                return NULL;
        if (ret_reason)
                *ret_reason = never_list[i].reason;
        if (ret_errno)
                *ret_errno = never_list[i].error != 0 ? never_list[i].error : EPERM;
        return never_list[i].name;
}
