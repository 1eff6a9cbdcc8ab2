/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* The agent seccomp policy: one allow-list table (src/seccomp/policy.c) from which
 * the filter, the OCI JSON and the docs are all derived.
 *
 * Anything not on the allow-list fails with EPERM (not a kill), so an agent
 * sees a clean error. Syscalls of a foreign architecture (i386 via int 0x80,
 * x32 on x86-64) fail the same way. clone3() fails with ENOSYS so that libc
 * falls back to clone(), whose flags the filter can inspect. */

/* Whether NAME may be added to an agent's allow-list with [Security] SystemCalls=.
 * Returns 0 if it may; -EINVAL if libseccomp does not know the name (for the
 * native architecture); -EPERM if it is on the never-allowed list, with
 * *ret_reason (if not NULL) set to a static string saying why. The
 * argument-filtered syscalls (clone, socket, socketpair, personality, ioctl,
 * mmap, mprotect, pkey_mprotect)
 * are refused with -EPERM too: adding them unconditionally would lift their
 * filter. */
int seccomp_policy_check_extra(const char *name, const char **ret_reason);

typedef enum SeccompPolicyFlags {
        /* [Security] MemoryDenyWriteExecute=no: mmap(), mprotect() and
         * pkey_mprotect() without their W^X filters, for a JIT (V8, JVMs).
         * Every other rule stays. */
        SECCOMP_POLICY_ALLOW_WRITE_EXECUTE = 1 << 0,
} SeccompPolicyFlags;

/* Builds the agent filter (the allow-list plus the given extra syscalls, which
 * the caller has checked with seccomp_policy_check_extra(), shaped by FLAGS)
 * and writes it as a raw BPF program (struct sock_filter[]) to fd. An extra
 * that seccomp_policy_check_extra() refuses makes this fail with the same
 * error (nothing is written then); so do unknown flags (-EINVAL). Logs
 * nothing. Returns 0 or -errno. */
int seccomp_policy_write_bpf(char *const *extra, size_t n_extra, SeccompPolicyFlags flags, int fd);

/* Writes the allow-list (the default, W^X included) in the OCI/Docker seccomp
 * profile JSON format. Returns
 * 0 or -errno (including write errors on f, which is flushed). */
int seccomp_policy_write_oci_json(FILE *f);
/* The same with an agent's extra syscalls (its SystemCalls=) allowed too: the
 * effective allow-list of that agent. An extra that
 * seccomp_policy_check_extra() refuses makes this fail with the same error. */
int seccomp_policy_write_oci_json_extra(FILE *f, char *const *extra, size_t n_extra);

/* Writes the policy as a Markdown reference (allow-list, argument filters,
 * never-allowed list with reasons). Returns 0 or -errno. */
int seccomp_policy_write_markdown(FILE *f);

/* Number of syscalls allowed unconditionally / with argument conditions, on
 * the native architecture. */
size_t seccomp_policy_n_unconditional(void);
size_t seccomp_policy_n_conditional(void);

/* Read access to the two tables, for tests and docs. Index i runs from 0 until
 * the function returns NULL. The allow-list names include the
 * argument-filtered ones; *ret_filtered (if not NULL) says which those are.
 * Names may include syscalls that do not exist on the native architecture
 * (seccomp_syscall_resolve_name() gives a negative pseudo number then). */
const char *seccomp_policy_allowed_name(size_t i, int *ret_filtered);
const char *seccomp_policy_never_name(size_t i, const char **ret_reason, int *ret_errno);

/* Loading what seccomp_policy_write_bpf() wrote: load.h (libc only). */
#include "load.h"
