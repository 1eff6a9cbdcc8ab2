/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* The walls agent-init puts around the agent and around itself. */

/* PID 1 keeps its uid (the container's root) and, of all capabilities, only
 * CAP_SETUID, CAP_SETGID and CAP_KILL (plus the agent's kept ones, which it
 * passes on): the agent runs under another uid and so cannot signal, renice,
 * limit or trace PID 1. Also empties the bounding set down to agent_keep and
 * drops supplementary groups. Returns 0 or -errno (logged). */
int supervisor_drop_privileges(uint64_t agent_keep);

/* In a child of PID 1, before its exec: become uid/gid with exactly the kept
 * capabilities (ambient, so they survive the exec). Returns 0 or -errno
 * (logged). */
int agent_drop_privileges(uid_t uid, uint64_t keep);

/* Whether AppArmor confines processes on this kernel: > 0 yes, 0 no. */
int apparmor_enabled(void);

/* Have AppArmor change to PROFILE at the next exec. */
int apparmor_set_exec_profile(const char *profile);

/* A Landlock ruleset that allows executing files only from the image's own
 * read-only tree: the directories and files directly under / that are on the
 * same file system as / itself (so not /tmp, /workspace, /dev/shm, /run,
 * /proc, /shared, which are mounts of their own, nor memfds), plus extra
 * directories. Returns the ruleset fd, or -errno (logged); -EOPNOTSUPP when
 * the kernel has no Landlock. */
int exec_ruleset_new(char *const *extra, size_t n_extra);

/* Restricts the calling thread to the ruleset (needs no_new_privs). */
int exec_ruleset_apply(int ruleset_fd);
