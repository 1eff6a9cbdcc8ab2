/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Internal API of `agent-runtime configure` and `agent-runtime recycle`
 * (docs/DESIGN.md, "The runtime contract"). Everything returns 0 (or a
 * documented positive value) on success and a negative errno on failure.
 * Functions that decide about a failure log it themselves; helpers that only
 * return an errno say so in their comment. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent-limits.h"
#include "parse-value.h"

/* Every bound comes from agent-limits.h, the one set the schema uses too. */

/* User namespaces: 65536 ids per agent, from 0x70000000 upwards, outside the
 * range systemd-nspawn --private-users=pick draws from (0x00080000 …
 * 0x6FFF0000). The last range ends below 0xFFFF0000 so that neither
 * (uid_t) -1 nor the 16-bit overflow ids of old interfaces are ever mapped. */
#define USERNS_RANGE_SIZE 0x10000U
#define USERNS_FIRST_BASE 0x70000000U
/* Ranges stay below 0x7FFE0000: what lies above is reserved (and many tools
 * treat uid_t as signed, so 0x80000000 and up are avoided altogether). */
#define USERNS_LAST_BASE 0x7FFC0000U

/* --- runtime state paths ------------------------------------------------ */

/* $AGENTCAGE_RUNTIME_DIR or /run/agentcage. The override must be an absolute
 * path; anything else is ignored with a warning. Never NULL. */
const char *runtime_root(void);

/* Agent and secret names and credential IDs follow the definition rules
 * (parse-value.h, the same checks the generator applies). */

/* Writes data to DIR/NAME through a temporary file and rename(), so readers
 * see the old file or the new one, never a partial one. Returns -errno. */
int write_file_atomic(const char *dir, const char *name, const void *data, size_t size, mode_t mode);
/* Same, but the content is produced by writer(fd, userdata). */
int write_file_atomic_with(const char *dir, const char *name, mode_t mode,
                           int (*writer)(int fd, void *userdata), void *userdata);

/* Whether PATH is the root of a mount (statx STATX_ATTR_MOUNT_ROOT). Returns
 * 1, 0, or -errno (-ENOENT when it does not exist). */
int path_is_mount_point(const char *path);
/* Unmounts everything stacked on PATH. Logs what it did. Returns the number
 * of mounts removed, or -errno after logging. A busy mount is detached
 * lazily (MNT_DETACH) as a last resort, with a warning. */
int umount_recursive(const char *path, const char *what);

/* Moves this process into PID 1's IPC namespace, and with MOUNT also into
 * its mount namespace, when it runs as part of a systemd unit ($INVOCATION_ID
 * set) and sits in other ones. Even a
 * '+' command of a unit with PrivateMounts=/PrivateTmp=/PrivateIPC= gets its
 * own mount and IPC namespace from systemd 252: mounts made there would
 * never reach the host (nor the namespace systemd-nspawn starts in later),
 * and libdevmapper's udev cookies (SysV semaphores) would never be released
 * by udev, hanging every dm operation. Logs; returns 0 or -errno. */
int join_host_namespaces(bool mount);

/* --- user namespace ----------------------------------------------------- */

/* Finds the lease of agent NAME in LEASE_DIR, or takes the lowest free range
 * in [first, last] (creating LEASE_DIR if needed). *ret_reused tells whether
 * an existing lease was reused. Returns 0, -EBUSY when every range is taken,
 * or -errno. Does not log. */
int userns_lease_acquire(const char *lease_dir, const char *name, uint32_t first, uint32_t last,
                         uint32_t *ret_base, bool *ret_reused);
/* Removes every lease of NAME. Returns the number removed, or -errno. */
int userns_lease_release(const char *lease_dir, const char *name);
/* Looks up NAME's lease without taking one. Returns 0 and *ret_base, -ENOENT. */
int userns_lease_find(const char *lease_dir, const char *name, uint32_t *ret_base);

/* --- secrets ------------------------------------------------------------ */

typedef struct SecretSpec {
        char *name;   /* file name under /run/secrets */
        char *source; /* absolute path, or "cred:ID" */
} SecretSpec;

/* Mounts a private ramfs at DIR (created 0700 if missing), copies every
 * secret into it as a 0400 file owned by OWNER, then makes DIR 0500 owned by
 * OWNER. Logs the reason of a refusal (naming secret and source, never the
 * value). On failure nothing is left mounted and DIR is removed. */
int secrets_stage(const char *dir, const SecretSpec *secrets, size_t n_secrets, uid_t owner);
/* Overwrites the staged copies, unmounts the ramfs and removes DIR.
 * Idempotent. Returns 1 if something was removed, 0 if there was nothing,
 * -errno after logging. */
int secrets_remove(const char *dir);

/* --- workspace ---------------------------------------------------------- */

/* The dm-crypt mapping name of agent NAME ("agentcage-NAME"). */
int workspace_mapping_name(const char *name, char **ret);

/* Sets up the encrypted RAM-backed workspace of SIZE bytes and mounts it at
 * MOUNT_POINT, root directory owned by OWNER mode 0700. Logs failures; on
 * failure everything set up so far is torn down again. */
int workspace_setup(const char *name, const char *mount_point, uint64_t size, uid_t owner);
/* Unmounts, deactivates the mapping, detaches the loop device (which frees
 * the memory). Idempotent. Returns 1 if something was removed, 0 if nothing
 * was there, -errno after logging. */
int workspace_teardown(const char *name, const char *mount_point);

/* --- /tmp --------------------------------------------------------------- */

/* Mounts a tmpfs of SIZE bytes at DIR (nosuid,nodev,noexec, 1777, owned by
 * ROOT_UID, the agent's namespace root). Logs. Leaves nothing on failure. */
int tmp_setup(const char *dir, uint64_t size, uid_t root_uid);
/* Unmounts and removes DIR. Idempotent; 1 if something was removed. */
int tmp_remove(const char *dir);

/* --- configure / recycle ------------------------------------------------ */

typedef struct ConfigureArgs {
        char *name;
        uid_t uid;
        uint64_t workspace_size;
        uint64_t tmp_size; /* 0: no /tmp mount */
        char **syscalls;
        size_t n_syscalls;
        SecretSpec *secrets;
        size_t n_secrets;
        char *shared_state;
        bool allow_write_execute; /* --memory-deny-write-execute=no */
} ConfigureArgs;

void configure_args_done(ConfigureArgs *a);

/* Parses the verb's argv (argv[0] is the verb). Returns 1 when the caller
 * should go on, 0 after --help, -errno (logged) on bad options. */
int configure_parse_argv(int argc, char *argv[], ConfigureArgs *a);

/* Checks the --shared-state= directory. Logs. */
int shared_state_check(const char *dir);

/* Tears down what configure made for agent NAME under ROOT. With full, also
 * what provision made (the root mount), the user-namespace lease and the
 * agent's directory itself: that is `recycle`. Logs one line per thing
 * scrubbed. Returns 0, or the first -errno after logging it. */
int agent_teardown(const char *root, const char *name, bool full);
