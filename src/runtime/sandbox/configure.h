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
#include "runtime-config.h"

/* Every bound comes from agent-limits.h, the one set the schema uses too. */

/* User namespaces: 65536 ids per agent, aligned to 65536, inside the range
 * systemd reserves for containers (docs UIDS-GIDS.md: 0x00080000 …
 * 0x6FFFFFFF), the range systemd-nspawn --private-users=pick draws from too:
 * collisions with nspawn's containers are avoided through its lock files
 * and NSS, like nspawn itself does (userns.c). */
#define USERNS_RANGE_SIZE 0x10000U
#define USERNS_FIRST_BASE 0x00080000U
#define USERNS_LAST_BASE 0x6FFF0000U
/* Where systemd-nspawn keeps a lock file per range it picked. */
#define NSPAWN_UID_LOCK_DIR "/run/systemd/nspawn-uid"

/* The one way to mount: libmount without helpers, fstab or utab. FSTYPE is
 * NULL for a bind mount, or a comma-separated list to try. Returns 0 or
 * -errno, and libmount's explanation in MSG (if not NULL). Does not log. */
int mount_libmount(const char *source, const char *target, const char *fstype, const char *options,
                   char *msg, size_t msg_size);

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

/* Whether the kernel zeroes pages when they are freed (init_on_free=1 on
 * CMDLINE, or CONFIG_INIT_ON_FREE_DEFAULT_ON=y in KCONFIG, the text of the
 * kernel's config file, or NULL, without init_on_free= on the command line).
 * Returns 1 or 0. */
int kernel_zeroes_freed_pages(const char *cmdline, const char *kconfig);
/* Refuses (-EPERM, logged) to start an agent when the running kernel does
 * not zero freed pages: secrets, /tmp and the workspace's plaintext page
 * cache would stay in RAM after recycle. $AGENTCAGE_ALLOW_UNZEROED_FREE=1
 * (a site's drop-in) allows it, with a warning on every start. */
int memory_wipe_check(void);

/* --- user namespace ----------------------------------------------------- */

typedef struct UsernsPool {
        const char *lease_dir;       /* one lease file per agent name */
        const char *nspawn_lock_dir; /* systemd-nspawn's lock files, or NULL */
        uint32_t first, last;        /* the bases that may be handed out */
        bool check_nss;              /* refuse ranges NSS knows users or groups in */
} UsernsPool;

/* Returns the agent's lease in POOL, or leases it a free range: starting at a
 * slot derived from NAME (so a lost lease tends to come back the same),
 * skipping ranges leased to other agents, ranges systemd-nspawn holds a lock
 * file for and ranges holding a user or group NSS knows. An existing lease
 * that now collides is -EADDRINUSE, never moved silently. Serialised with
 * flock() on the lease directory. *ret_reused tells whether the lease
 * existed. Returns 0, -EBUSY when nothing is free, -EADDRINUSE, or -errno.
 * Does not log. */
int userns_lease_acquire(const UsernsPool *pool, const char *name, uint32_t *ret_base, bool *ret_reused);
/* Removes NAME's lease (when an agent is removed for good). Returns 1 if
 * removed, 0 if there was none, -errno. */
int userns_lease_release(const char *lease_dir, const char *name);
/* Looks up NAME's lease without taking one. Returns 0 and *ret_base,
 * -ENOENT, -EBADMSG for a malformed lease, or -errno. */
int userns_lease_find(const char *lease_dir, const char *name, uint32_t *ret_base);
/* The pool the runtime uses: AGENT_LEASE_ROOT/userns, nspawn's lock files,
 * the whole container range, NSS checked. *ret_dir holds the lease directory
 * (free() it). */
int userns_pool_default(UsernsPool *ret, char **ret_dir);

/* --- secrets ------------------------------------------------------------ */

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

/* Checks the shared state directory: a real directory, no symlink on the
 * way, its real path passing shared_state_path_check(). Logs. */
int shared_state_check(const char *dir);

/* Configure: the agent's user-namespace range, seccomp filter, secrets,
 * /tmp, encrypted workspace and shared state, under the state directory.
 * Leftovers of a previous run are torn down first; a failure undoes what
 * this run made. Logs. Returns 0 and the range's base, or -errno. */
int runtime_configure(const RuntimeConfig *c, uint32_t *ret_userns_base);

/* Tears down what configure made for agent NAME under the state root. With
 * full, also what provision made (the root mount) and the agent's directory
 * itself: that is recycle. The user-namespace lease stays: it is the
 * agent's for good. Logs one line per thing scrubbed. Returns 0, or the
 * first -errno after logging it. */
int agent_teardown(const char *name, bool full);
