/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The parts of agentctl that need neither systemd nor root: formatting, bounded
 * reads, exit statuses, the assignment file and the orphan rule of `agentctl reap`. They
 * are kept apart so that the unit tests can drive them directly. */

#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <stddef.h>

#include "macro.h"

/* "unset" for every uint64_t below, the way systemd reports an unknown value. */
#define CTL_UNSET UINT64_MAX

/* Longest task text an assignment may carry, in bytes. */
#define TASK_MAX 256
/* An assignment file is a few short lines; anything larger is not ours. */
#define ASSIGNMENT_FILE_MAX 4096

/* "5min 3s", "2h 10min", "1d 3h", "750ms": at most the two largest units, the
 * way an operator reads a duration. */
char *format_timespan(char *buf, size_t size, uint64_t usec);
#define FORMAT_TIMESPAN_MAX 64

/* "512.0M", "3.2G", "900B": base 1024. */
char *format_bytes(char *buf, size_t size, uint64_t bytes);
#define FORMAT_BYTES_MAX 32

/* Reads a regular file (or a character device), following symlinks (a masked
 * definition is one to /dev/null), of at most max bytes into a
 * NUL-terminated buffer. -EFBIG if it is larger, -EBADFD if it is something
 * else. ret_len may be NULL. */
int ctl_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Exit statuses (agentctl(1), EXIT STATUS). Verbs return 0 or a negative
 * errno after logging; main() maps it here, once. The four errnos below are
 * reserved for what they say: a failure of another kind that happens to carry
 * one of them goes through ctl_plain_failure() first. */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAIL = 1,        /* any other -errno */
        CTL_EXIT_USAGE = 2,       /* -EINVAL: bad command, option, name, task or lease */
        CTL_EXIT_UNKNOWN = 3,     /* -ESRCH: no such agent */
        CTL_EXIT_NOT_ROOT = 4,    /* -EPERM: root needed */
        CTL_EXIT_UNREACHABLE = 5, /* -EHOSTDOWN: systemd or machined unreachable */
};
#define CTL_E_USAGE EINVAL
#define CTL_E_UNKNOWN ESRCH
#define CTL_E_NOT_ROOT EPERM
#define CTL_E_UNREACHABLE EHOSTDOWN

int ctl_exit_status(int r);
/* r as a plain failure (exit status 1): reserved errnos become -EIO. */
int ctl_plain_failure(int r);

/* The assignment of a running agent, /run/agentcage/NAME/assignment:
 *
 *     task=TEXT            the task (printable UTF-8, at most TASK_MAX bytes)
 *     assigned=USEC        when it was assigned (CLOCK_REALTIME, µs)
 *     lease_until=USEC     when the lease runs out, or 0 for no lease
 *     released=USEC        when the last task was released (optional)
 *
 * one key=value a line, each key at most once; a file with only released= is
 * an agent whose task was released. */
typedef struct Assignment {
        char *task; /* NULL: no task */
        uint64_t assigned;
        uint64_t lease_until;
        uint64_t released;
} Assignment;

void assignment_done(Assignment *a);
bool task_is_valid(const char *task);

/* Parses the text of an assignment file strictly: unknown or repeated keys,
 * bad numbers, a bad task or a missing newline at the end are -EBADMSG. */
int assignment_parse(const char *text, size_t len, Assignment *ret);
/* Serialises a into a malloc'ed string. */
int assignment_format(const Assignment *a, char **ret);

typedef enum OrphanVerdict {
        ORPHAN_KEEP_NEVER,   /* OrphanTimeoutSec=0 */
        ORPHAN_KEEP_TASK,    /* a task without lease, or a live lease */
        ORPHAN_KEEP_YOUNG,   /* an orphan, but not for longer than the timeout */
        ORPHAN_REAP_NO_TASK, /* no task for longer than the timeout */
        ORPHAN_REAP_EXPIRED, /* a lease that expired longer than the timeout ago */
} OrphanVerdict;

/* The rule of `agentctl reap`: an agent is an orphan since the latest of its
 * start, its last release and the end of its lease; it is reaped when it has
 * no task (or only an expired lease) and has been an orphan for longer than
 * timeout. All times are CLOCK_REALTIME µs; a (the assignment) may be NULL.
 * *ret_orphan_usec is how long it has been an orphan (0 if it is not one). */
OrphanVerdict orphan_verdict(uint64_t now, uint64_t started, const Assignment *a, uint64_t timeout,
                             uint64_t *ret_orphan_usec);
static inline bool orphan_verdict_reaps(OrphanVerdict v) {
        return v == ORPHAN_REAP_NO_TASK || v == ORPHAN_REAP_EXPIRED;
}
