/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Forking until the tasks limit says no and keeping every child: the probe's
 * --fork-hold and agent-init's test payload, which show that a payload holding
 * its whole limit cannot switch its health checks off. Header-only: the two
 * are separate programs. */

#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Forks up to MAX children that only pause; returns how many it made (the
 * first failed fork ends the run). */
static inline unsigned fork_paused_children(unsigned max) {
        unsigned n = 0;

        fflush(stdout);
        for (; n < max; n++) {
                pid_t p = fork();
                if (p < 0)
                        break;
                if (p == 0) {
                        pause();
                        _exit(0);
                }
        }
        return n;
}
