/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Shared between probe.c (the report, the older attempts) and probe-floor.c
 * (the floor as policy.c states it: exact errnos, never SIGSYS). */

void record(const char *name, const char *expected, bool pass, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
const char *errno_name(int e);

/* Runs fn in a child: 0 if it succeeded, its errno (> 0) if it failed, or
 * -SIGNAL if the child was killed (SIGSYS: a seccomp filter's kill). */
int in_child(int (*fn)(void));

/* The attempts of probe-floor.c. */
void attempt_floor(void);

/* --fork-hold: fork until the tasks limit says no, keep the children, wait
 * (for a health check to notice). Never returns. */
_Noreturn void fork_hold(void);
