/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agentctl's systemd-free parts: durations and sizes as shown, exit statuses,
 * the assignment file format and the orphan rule of `agentctl reap`. */

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl-util.h"
#include "parse-value.h"
#include "tap.h"

static const char *ts(uint64_t usec) {
        static char buf[FORMAT_TIMESPAN_MAX];
        return format_timespan(buf, sizeof buf, usec);
}

static const char *bytes(uint64_t b) {
        static char buf[FORMAT_BYTES_MAX];
        return format_bytes(buf, sizeof buf, b);
}

static void test_format(void) {
        CHECK_STREQ(ts(0), "0ms");
        CHECK_STREQ(ts(750 * 1000), "750ms");
        CHECK_STREQ(ts(USEC_PER_SEC), "1s");
        CHECK_STREQ(ts(5 * USEC_PER_MINUTE + 3 * USEC_PER_SEC), "5min 3s");
        CHECK_STREQ(ts(USEC_PER_HOUR), "1h");
        CHECK_STREQ(ts(USEC_PER_HOUR + 5 * USEC_PER_SEC), "1h"); /* two units at most, no "0min" */
        CHECK_STREQ(ts(2 * USEC_PER_HOUR + 10 * USEC_PER_MINUTE + 59 * USEC_PER_SEC), "2h 10min");
        CHECK_STREQ(ts(USEC_PER_DAY + 3 * USEC_PER_HOUR), "1d 3h");

        CHECK_STREQ(bytes(0), "0B");
        CHECK_STREQ(bytes(1023), "1023B");
        CHECK_STREQ(bytes(1024), "1.0K");
        CHECK_STREQ(bytes(512 * 1024 * 1024), "512.0M");
        CHECK_STREQ(bytes(UINT64_C(3) << 30), "3.0G");

}

static void test_task(void) {
        char big[TASK_MAX + 2];

        CHECK(task_is_valid("fix issue #42"));
        CHECK(task_is_valid("übersetzen"));
        CHECK(!task_is_valid(""));
        CHECK(!task_is_valid("two\nlines"));
        CHECK(!task_is_valid("esc\x1b[31m"));
        CHECK(!task_is_valid(" leading"));
        CHECK(!task_is_valid("trailing "));
        CHECK(!task_is_valid("bad\xff utf8"));
        memset(big, 'x', TASK_MAX);
        big[TASK_MAX] = '\0';
        CHECK(task_is_valid(big));
        big[TASK_MAX] = 'x';
        big[TASK_MAX + 1] = '\0';
        CHECK(!task_is_valid(big));
}

static int parse(const char *text, Assignment *a) {
        return assignment_parse(text, strlen(text), a);
}

static void test_assignment(void) {
        Assignment a = {}, b = {};
        char *text = NULL;

        CHECK(parse("task=t1\nassigned=100\nlease_until=200\n", &a) == 0);
        CHECK_STREQ(a.task, "t1");
        CHECK(a.assigned == 100 && a.lease_until == 200 && a.released == 0);

        CHECK(assignment_format(&a, &text) == 0);
        CHECK_STREQ(text, "task=t1\nassigned=100\nlease_until=200\n");
        CHECK(parse(text, &b) == 0 && streq_ptr(b.task, "t1") && b.lease_until == 200);
        free(text);
        assignment_done(&a);
        assignment_done(&b);

        /* What release leaves behind: only the time of the release. */
        CHECK(parse("released=300\n", &a) == 0);
        CHECK(!a.task && a.released == 300);
        CHECK(assignment_format(&a, &text) == 0);
        CHECK_STREQ(text, "released=300\n");
        free(text);
        assignment_done(&a);

        CHECK(parse("", &a) == 0 && !a.task);
        CHECK(assignment_format(&a, &text) == 0);
        CHECK_STREQ(text, "");
        free(text);

        CHECK(parse("task=t=with=equals\nassigned=1\nlease_until=0\n", &a) == 0);
        CHECK_STREQ(a.task, "t=with=equals");
        assignment_done(&a);

        CHECK(parse("task=t\nassigned=1\n", &a) == 0); /* lease_until is optional */
        assignment_done(&a);

        CHECK(parse("task=t\nassigned=1\nlease_until=0", &a) == -EBADMSG);        /* no final newline */
        CHECK(parse("task=t\nassigned=1\ntask=u\n", &a) == -EBADMSG);             /* repeated key */
        CHECK(parse("task=t\nassigned=1\nowner=me\n", &a) == -EBADMSG);           /* unknown key */
        CHECK(parse("task=t\nassigned=-1\n", &a) == -EBADMSG);                    /* sign */
        CHECK(parse("task=t\nassigned=01\n", &a) == -EBADMSG);                    /* leading zero */
        CHECK(parse("task=t\nassigned=1x\n", &a) == -EBADMSG);                    /* garbage */
        CHECK(parse("task=t\n", &a) == -EBADMSG);                                 /* no time */
        CHECK(parse("assigned=1\n", &a) == -EBADMSG);                             /* no task */
        CHECK(parse("lease_until=5\n", &a) == -EBADMSG);                          /* lease without task */
        CHECK(parse("task=\nassigned=1\n", &a) == -EBADMSG);                      /* empty task */
        CHECK(parse("just a line\n", &a) == -EBADMSG);
        CHECK(assignment_parse("task=t\0x\nassigned=1\n", 20, &a) == -EBADMSG);   /* NUL */

        char *huge = malloc(ASSIGNMENT_FILE_MAX + 2);
        memset(huge, '\n', ASSIGNMENT_FILE_MAX + 1);
        huge[ASSIGNMENT_FILE_MAX + 1] = '\0';
        CHECK(parse(huge, &a) == -EBADMSG);
        free(huge);

        Assignment bad = { .task = (char *) "a\nb", .assigned = 1 };
        CHECK(assignment_format(&bad, &text) == -EINVAL);
}

static void test_orphan(void) {
        const uint64_t S = USEC_PER_SEC, T = 20 * S, start = 1000 * S;
        Assignment none = {}, released = { .released = start + 100 * S };
        Assignment held = { .task = (char *) "t", .assigned = start + 1 * S, .lease_until = 0 };
        Assignment leased = { .task = (char *) "t", .assigned = start + 1 * S, .lease_until = start + 60 * S };
        uint64_t o;

        CHECK(orphan_verdict(start + 1000 * S, start, NULL, 0, &o) == ORPHAN_KEEP_NEVER && o == 0);
        CHECK(orphan_verdict(start + 10 * S, start, NULL, T, &o) == ORPHAN_KEEP_YOUNG && o == 10 * S);
        CHECK(orphan_verdict(start + 20 * S, start, NULL, T, &o) == ORPHAN_KEEP_YOUNG); /* longer than, not equal */
        CHECK(orphan_verdict(start + 21 * S, start, NULL, T, &o) == ORPHAN_REAP_NO_TASK && o == 21 * S);
        CHECK(orphan_verdict(start + 21 * S, start, &none, T, &o) == ORPHAN_REAP_NO_TASK);

        /* A release restarts the count. */
        CHECK(orphan_verdict(start + 110 * S, start, &released, T, &o) == ORPHAN_KEEP_YOUNG && o == 10 * S);
        CHECK(orphan_verdict(start + 121 * S, start, &released, T, &o) == ORPHAN_REAP_NO_TASK && o == 21 * S);

        /* A task without lease is kept for ever; a live lease is kept. */
        CHECK(orphan_verdict(start + 100000 * S, start, &held, T, &o) == ORPHAN_KEEP_TASK && o == 0);
        CHECK(orphan_verdict(start + 59 * S, start, &leased, T, &o) == ORPHAN_KEEP_TASK);
        /* An expired lease counts from its end. */
        CHECK(orphan_verdict(start + 70 * S, start, &leased, T, &o) == ORPHAN_KEEP_YOUNG && o == 10 * S);
        CHECK(orphan_verdict(start + 81 * S, start, &leased, T, &o) == ORPHAN_REAP_EXPIRED && o == 21 * S);
        CHECK(orphan_verdict_reaps(ORPHAN_REAP_EXPIRED) && orphan_verdict_reaps(ORPHAN_REAP_NO_TASK));
        CHECK(!orphan_verdict_reaps(ORPHAN_KEEP_TASK) && !orphan_verdict_reaps(ORPHAN_KEEP_YOUNG));

        /* A clock that went backwards never makes an orphan. */
        CHECK(orphan_verdict(start - 5 * S, start, NULL, T, &o) == ORPHAN_KEEP_YOUNG && o == 0);
}

static void test_exit_status(void) {
        /* agentctl(1), EXIT STATUS: mapped once, in main(). */
        CHECK(ctl_exit_status(0) == 0);
        CHECK(ctl_exit_status(-EIO) == 1);
        CHECK(ctl_exit_status(-ENOENT) == 1);
        CHECK(ctl_exit_status(-EINVAL) == 2);
        CHECK(ctl_exit_status(-ESRCH) == 3);
        CHECK(ctl_exit_status(-EPERM) == 4);
        CHECK(ctl_exit_status(-EHOSTDOWN) == 5);
        /* A failure that carries a reserved errno by accident is a plain failure. */
        CHECK(ctl_exit_status(ctl_plain_failure(-EINVAL)) == 1);
        CHECK(ctl_exit_status(ctl_plain_failure(-EHOSTDOWN)) == 1);
        CHECK(ctl_plain_failure(-ENOMEM) == -ENOMEM);
}

static void test_read_bounded(void) {
        char path[] = "/tmp/test-agentctl-read-XXXXXX", *text = NULL;
        size_t len = 0;
        int fd = mkstemp(path);

        CHECK(fd >= 0 && write(fd, "12345", 5) == 5);
        close(fd);
        CHECK(ctl_read_file(path, 5, &text, &len) == 0 && len == 5 && streq(text, "12345"));
        free(text);
        text = NULL;
        CHECK(ctl_read_file(path, 4, &text, &len) == -EFBIG && !text);
        CHECK(ctl_read_file("/tmp", 4, &text, &len) == -EBADFD);
        CHECK(ctl_read_file("/nonexistent/x", 4, &text, &len) == -ENOENT);
        unlink(path);
}

int main(void) {
        test_format();
        test_exit_status();
        test_read_bounded();
        test_task();
        test_assignment();
        test_orphan();
        return tap_finish();
}
