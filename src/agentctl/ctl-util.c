/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "ctl-util.h"
#include "fs-util.h"
#include "parse-value.h"

char *format_timespan(char *buf, size_t size, uint64_t usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } table[] = {
                { "d", USEC_PER_DAY },
                { "h", USEC_PER_HOUR },
                { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC },
        };
        size_t n = 0;
        unsigned parts = 0;

        if (usec < USEC_PER_SEC) {
                (void) snprintf(buf, size, "%" PRIu64 "ms", usec / 1000);
                return buf;
        }
        buf[0] = '\0';
        /* Two units are what a reader takes in at a glance; the rest is noise. */
        for (size_t i = 0; i < ELEMENTSOF(table) && parts < 2; i++) {
                uint64_t k = usec / table[i].usec;
                if (k == 0) {
                        if (parts > 0)
                                break; /* "1h 0min" is "1h" */
                        continue;
                }
                int m = snprintf(buf + n, size - n, "%s%" PRIu64 "%s", parts > 0 ? " " : "", k, table[i].suffix);
                if (m < 0 || (size_t) m >= size - n)
                        break;
                n += (size_t) m;
                usec -= k * table[i].usec;
                parts++;
        }
        return buf;
}

char *format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) bytes;
        int i = -1;

        if (bytes < 1024) {
                (void) snprintf(buf, size, "%" PRIu64 "B", bytes);
                return buf;
        }
        while (v >= 1024.0 && i < (int) sizeof suffixes - 2) {
                v /= 1024.0;
                i++;
        }
        (void) snprintf(buf, size, "%.1f%c", v, suffixes[i]);
        return buf;
}

int ctl_read_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return -EBADFD;
        return read_fd_bounded(fd, max, ret, ret_len);
}

int ctl_exit_status(int r) {
        switch (r) {
        case 0:
                return CTL_EXIT_OK;
        case -CTL_E_USAGE:
                return CTL_EXIT_USAGE;
        case -CTL_E_UNKNOWN:
                return CTL_EXIT_UNKNOWN;
        case -CTL_E_NOT_ROOT:
                return CTL_EXIT_NOT_ROOT;
        case -CTL_E_UNREACHABLE:
                return CTL_EXIT_UNREACHABLE;
        default:
                return r < 0 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
        }
}

int ctl_plain_failure(int r) {
        if (r == -CTL_E_USAGE || r == -CTL_E_UNKNOWN || r == -CTL_E_NOT_ROOT || r == -CTL_E_UNREACHABLE)
                return -EIO;
        return r < 0 ? r : -EIO;
}

void assignment_done(Assignment *a) {
        free(a->task);
        *a = (Assignment) {};
}

bool task_is_valid(const char *task) {
        size_t n = strlen(task);

        /* The task is one line of a key=value file and is shown in tables and
         * logs: no control characters, no leading or trailing blanks that an
         * operator could not see. */
        return n > 0 && n <= TASK_MAX && string_is_printable_utf8(task, false) &&
               task[0] != ' ' && task[n - 1] != ' ';
}

/* A realtime timestamp in µs: decimal, no sign, no leading zeros. */
static int parse_usec_value(const char *s, uint64_t *ret) {
        return parse_uint64_range(s, 0, UINT64_MAX - 1, ret);
}

int assignment_parse(const char *text, size_t len, Assignment *ret) {
        _cleanup_free_ char *copy = NULL;
        Assignment a = {};
        bool seen_task = false, seen_assigned = false, seen_lease = false, seen_released = false;
        char *p, *line;
        int r = 0;

        if (len > ASSIGNMENT_FILE_MAX || memchr(text, '\0', len) || (len > 0 && text[len - 1] != '\n'))
                return -EBADMSG;
        copy = strndup(text, len);
        if (!copy)
                return -ENOMEM;

        for (p = copy; *p; p = line) {
                char *nl = strchr(p, '\n'), *eq;
                bool *seen;

                *nl = '\0';
                line = nl + 1;
                eq = strchr(p, '=');
                if (!eq) {
                        r = -EBADMSG;
                        goto fail;
                }
                *eq = '\0';
                const char *value = eq + 1;

                if (streq(p, "task"))
                        seen = &seen_task;
                else if (streq(p, "assigned"))
                        seen = &seen_assigned;
                else if (streq(p, "lease_until"))
                        seen = &seen_lease;
                else if (streq(p, "released"))
                        seen = &seen_released;
                else {
                        r = -EBADMSG;
                        goto fail;
                }
                if (*seen) {
                        r = -EBADMSG;
                        goto fail;
                }
                *seen = true;

                if (seen == &seen_task) {
                        if (!task_is_valid(value)) {
                                r = -EBADMSG;
                                goto fail;
                        }
                        a.task = strdup(value);
                        if (!a.task) {
                                r = -ENOMEM;
                                goto fail;
                        }
                } else {
                        uint64_t *dst = seen == &seen_assigned ? &a.assigned :
                                        seen == &seen_lease ? &a.lease_until : &a.released;
                        if (parse_usec_value(value, dst) < 0) {
                                r = -EBADMSG;
                                goto fail;
                        }
                }
        }

        /* A task comes with its time; times of a task without one are junk. */
        if (seen_task != seen_assigned || (seen_lease && !seen_task)) {
                r = -EBADMSG;
                goto fail;
        }
        *ret = a;
        return 0;
fail:
        assignment_done(&a);
        return r;
}

int assignment_format(const Assignment *a, char **ret) {
        Buffer b = {};
        int r;

        if (a->task) {
                if (!task_is_valid(a->task))
                        return -EINVAL;
                buffer_printf(&b, "task=%s\nassigned=%" PRIu64 "\nlease_until=%" PRIu64 "\n", a->task,
                              a->assigned, a->lease_until);
        }
        if (a->released > 0)
                buffer_printf(&b, "released=%" PRIu64 "\n", a->released);
        buffer_put(&b, "", 0); /* an allocation (NUL-terminated) even for an empty file */
        r = buffer_status(&b);
        if (r < 0) {
                buffer_done(&b);
                return r;
        }
        *ret = b.data;
        return 0;
}

OrphanVerdict orphan_verdict(uint64_t now, uint64_t started, const Assignment *a, uint64_t timeout,
                             uint64_t *ret_orphan_usec) {
        uint64_t since = started;
        bool expired = false;

        *ret_orphan_usec = 0;
        if (timeout == 0)
                return ORPHAN_KEEP_NEVER;

        if (a && a->task) {
                /* A task without a lease is held until it is released. */
                if (a->lease_until == 0 || a->lease_until > now)
                        return ORPHAN_KEEP_TASK;
                since = MAX(since, a->lease_until);
                expired = true;
        }
        if (a)
                since = MAX(since, a->released);

        *ret_orphan_usec = now > since ? now - since : 0;
        if (*ret_orphan_usec <= timeout)
                return ORPHAN_KEEP_YOUNG;
        return expired ? ORPHAN_REAP_EXPIRED : ORPHAN_REAP_NO_TASK;
}
