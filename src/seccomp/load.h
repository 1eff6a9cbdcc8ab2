/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <linux/filter.h>

/* Reading and loading a filter written by seccomp_policy_write_bpf(). libc
 * only (no libseccomp), so that the static agent-init compiles this same file
 * and production and the tests load filters with the same code. */

/* The kernel's limit on a classic BPF program (BPF_MAXINSNS). */
#define SECCOMP_PROGRAM_INSNS_MAX 4096

typedef struct SeccompProgram {
        struct sock_filter insns[SECCOMP_PROGRAM_INSNS_MAX];
        unsigned short len;
} SeccompProgram;

/* Reads a whole BPF file from fd into *ret. An empty, torn (not a whole
 * number of instructions) or oversized file is -EBADMSG. Returns 0 or -errno. */
int seccomp_program_read_fd(int fd, SeccompProgram *ret);

/* Loads the program into the calling thread (seccomp(SECCOMP_SET_MODE_FILTER),
 * prctl() fallback). Does NOT set no_new_privs: the caller must have done so
 * (or hold CAP_SYS_ADMIN), else the kernel refuses with EACCES. Returns 0 or
 * -errno. */
int seccomp_program_load(const SeccompProgram *p);

/* Both at once, with a static buffer (no allocation). Returns 0 or -errno
 * (-EBADMSG for a malformed file). */
int seccomp_policy_load_bpf_fd(int fd);
