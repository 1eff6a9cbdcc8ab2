/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* The agent seccomp policy: one allow-list table (seccomp/policy.c) from which
 * the filter, the OCI JSON and the docs are all derived. */

/* Whether NAME may be added to an agent's allow-list with [Security] SystemCalls=.
 * Returns 0 if it may; -EINVAL if libseccomp does not know the name (for the
 * native architecture); -EPERM if it is on the never-allowed list, with
 * *ret_reason (if not NULL) set to a static string saying why. */
int seccomp_policy_check_extra(const char *name, const char **ret_reason);

/* Builds the agent filter (the allow-list plus the given extra syscalls, which
 * the caller has checked with seccomp_policy_check_extra()) and writes it as a
 * raw BPF program (struct sock_filter[]) to fd. Returns 0 or -errno. */
int seccomp_policy_write_bpf(char *const *extra, size_t n_extra, int fd);

/* Writes the allow-list in the OCI/Docker seccomp profile JSON format. */
int seccomp_policy_write_oci_json(FILE *f);

/* Number of syscalls allowed unconditionally / with argument conditions. */
size_t seccomp_policy_n_unconditional(void);
size_t seccomp_policy_n_conditional(void);
