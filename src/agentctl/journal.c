/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "bus.h"
#include "journal.h"
#include "macro.h"
#include "parse-value.h"

void journal_lines_free(JournalLine *lines, size_t n) {
        for (size_t i = 0; lines && i < n; i++)
                free(lines[i].message);
        free(lines);
}

static int journal_open_unit(const char *unit, sd_journal **ret) {
        _cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL;
        sd_journal *j;
        int r;

        /* Not SD_JOURNAL_SYSTEM: the agent runs under a user-namespace uid,
         * and journald files the lines of such a uid in a user-UID journal. */
        r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;
        if (asprintf(&m1, "_SYSTEMD_UNIT=%s", unit) < 0 || asprintf(&m2, "UNIT=%s", unit) < 0 ||
            asprintf(&m3, "OBJECT_SYSTEMD_UNIT=%s", unit) < 0)
                r = -ENOMEM;
        else
                (void) ((r = sd_journal_add_match(j, m1, 0)) < 0 || (r = sd_journal_add_disjunction(j)) < 0 ||
                        (r = sd_journal_add_match(j, m2, 0)) < 0 || (r = sd_journal_add_match(j, "_PID=1", 0)) < 0 ||
                        (r = sd_journal_add_disjunction(j)) < 0 || (r = sd_journal_add_match(j, m3, 0)) < 0 ||
                        (r = sd_journal_add_match(j, "_UID=0", 0)) < 0);
        if (r < 0) {
                sd_journal_close(j);
                return r;
        }
        *ret = j;
        return 0;
}

/* The MESSAGE of the current entry into l; 0 if it has none. */
static int read_line(sd_journal *j, JournalLine *l) {
        const void *data;
        const char *msg;
        size_t len;

        if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < strlen("MESSAGE="))
                return 0;
        msg = (const char *) data + strlen("MESSAGE=");
        len -= strlen("MESSAGE=");
        /* A container's output runs through a pty: lines end in \r. */
        while (len > 0 && msg[len - 1] == '\r')
                len--;
        free(l->message);
        l->message = strndup(msg, len);
        if (!l->message)
                return -ENOMEM;
        l->len = strlen(l->message);
        if (sd_journal_get_realtime_usec(j, &l->realtime) < 0)
                l->realtime = 0;
        return 1;
}

int journal_tail(const char *name, uint64_t since_usec, size_t n, JournalLine **ret, size_t *ret_n) {
        _cleanup_(sd_journal_closep) sd_journal *j = NULL;
        JournalLine *ring, *lines;
        size_t total = 0, k;
        char unit[AGENT_UNIT_MAX];
        int r;

        r = journal_open_unit(agent_unit_name(unit, sizeof unit, name), &j);
        if (r < 0)
                return r;
        /* A second early: systemd's "Starting …" is stamped before the state change. */
        r = since_usec > USEC_PER_SEC ? sd_journal_seek_realtime_usec(j, since_usec - USEC_PER_SEC) :
                                        sd_journal_seek_head(j);
        if (r < 0)
                return r;
        /* Read forwards into a ring of n lines. */
        ring = calloc(n, sizeof(JournalLine));
        if (!ring)
                return -ENOMEM;
        while ((r = sd_journal_next(j)) > 0) {
                r = read_line(j, &ring[total % n]);
                if (r < 0)
                        break;
                total += (size_t) r;
        }
        if (r < 0) {
                journal_lines_free(ring, n);
                return r;
        }
        k = MIN(total, n);
        lines = calloc(n, sizeof(JournalLine));
        if (!lines) {
                journal_lines_free(ring, n);
                return -ENOMEM;
        }
        /* Oldest first. Every filled slot of the ring is one of the k lines:
         * they move over. */
        for (size_t i = 0; i < k; i++)
                lines[i] = ring[(total - k + i) % n];
        free(ring);
        *ret = lines;
        *ret_n = k;
        return 0;
}

/* True if stdout is the journal (a service's output; systemd says so in
 * $JOURNAL_STREAM=DEV:INODE): then printing a note would log it twice. */
static bool stdout_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;
        int n = 0;

        if (!e || sscanf(e, "%llu:%llu%n", &dev, &ino, &n) != 2 || e[n] != '\0')
                return false;
        if (fstat(STDOUT_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void journal_note(const char *name, const char *event, const char *message) {
        char unit[AGENT_UNIT_MAX];

        (void) sd_journal_send("MESSAGE=%s", message,
                               "PRIORITY=%i", LOG_NOTICE,
                               "SYSLOG_IDENTIFIER=agentctl",
                               "OBJECT_SYSTEMD_UNIT=%s", agent_unit_name(unit, sizeof unit, name),
                               "AGENTCAGE_AGENT=%s", name,
                               "AGENTCAGE_EVENT=%s", event,
                               NULL);
        if (!stdout_is_journal())
                printf("%s\n", message);
}
