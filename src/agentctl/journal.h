/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An agent's lines in the journal: reading the last ones of its latest run
 * (status), and writing agentctl's notes about it (assign, release, reap). */

#include <stddef.h>
#include <stdint.h>

typedef struct JournalLine {
        uint64_t realtime;
        char *message;
        size_t len;
} JournalLine;

void journal_lines_free(JournalLine *lines, size_t n);

/* The last n lines of agent@NAME.service's latest run (since_usec: when it
 * last left "inactive"; 0: all): what it logged itself, what systemd said
 * about it, and what root's tools noted about it (journalctl -u's matches).
 * Oldest first. Returns 0 or -errno (not logged: the caller says "journal
 * unavailable"). */
int journal_tail(const char *name, uint64_t since_usec, size_t n, JournalLine **ret, size_t *ret_n);

/* Writes MESSAGE to the journal as agentctl, attached to the agent's unit
 * (OBJECT_SYSTEMD_UNIT=, what "journalctl -u UNIT" shows of root's
 * messages), with AGENTCAGE_EVENT=event, and to stdout unless that is the
 * journal already. */
void journal_note(const char *name, const char *event, const char *message);
