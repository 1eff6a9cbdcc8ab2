/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-namespace range leases: one stable range per agent name, kept across
 * restarts (and, being on disk, reboots), distinct for distinct agents, never
 * a range systemd-nspawn holds a lock file for or one NSS knows users or
 * groups in, a clear error when every range is taken or a kept lease now
 * collides, and no double allocation when many agents start at once. */

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "configure.h"
#include "fs-util.h"
#include "log.h"
#include "tap.h"

static char tmp[] = "/tmp/test-userns-XXXXXX";
static char leases[256], locks[256];

static UsernsPool pool(uint32_t first, uint32_t last, bool nss) {
        return (UsernsPool) { .lease_dir = leases, .nspawn_lock_dir = locks, .first = first, .last = last, .check_nss = nss };
}

static void test_stable(void) {
        UsernsPool p = pool(USERNS_FIRST_BASE, USERNS_LAST_BASE, true);
        uint32_t a = 0, b = 0, a2 = 0, f = 0;
        bool reused = true;
        _cleanup_free_ char *text = NULL;
        char path[300];

        CHECK(userns_lease_acquire(&p, "alpha", &a, &reused) == 0 && !reused);
        CHECK_MSG(a >= USERNS_FIRST_BASE && a <= USERNS_LAST_BASE && a % USERNS_RANGE_SIZE == 0,
                  "the range 0x%x lies in the container range, aligned", a);
        snprintf(path, sizeof path, "%s/alpha", leases);
        CHECK(read_file_bounded(AT_FDCWD, path, 64, &text, NULL) == 0);
        {
                char want[16];
                snprintf(want, sizeof want, "0x%08x\n", a);
                CHECK_STREQ(text, want);
        }
        CHECK(userns_lease_acquire(&p, "beta", &b, &reused) == 0 && !reused);
        CHECK_MSG(b != a, "a second agent gets another range (0x%x, 0x%x)", a, b);
        CHECK(userns_lease_acquire(&p, "alpha", &a2, &reused) == 0);
        CHECK_MSG(reused && a2 == a, "a restart keeps the range");
        CHECK(userns_lease_find(leases, "beta", &f) == 0 && f == b);
        CHECK(userns_lease_find(leases, "gamma", &f) == -ENOENT);
        CHECK(userns_lease_find(leases, "../x", &f) == -EINVAL);

        /* A lost lease comes back the same: the first slot tried is the name's. */
        CHECK(userns_lease_release(leases, "alpha") == 1);
        CHECK(userns_lease_release(leases, "alpha") == 0);
        CHECK(userns_lease_acquire(&p, "alpha", &a2, &reused) == 0 && !reused);
        CHECK_MSG(a2 == a, "the lease is derived from the name (0x%x, 0x%x)", a, a2);

        /* A malformed lease is not silently replaced. */
        CHECK(write_file_atomic(leases, "broken", "0x7\n", 4, 0600) == 0);
        CHECK(userns_lease_acquire(&p, "broken", &f, &reused) == -EBADMSG);
        CHECK(userns_lease_acquire(&p, "bad/name", &f, &reused) == -EINVAL);
        {
                UsernsPool q = pool(USERNS_FIRST_BASE + 1, USERNS_LAST_BASE, false);
                CHECK(userns_lease_acquire(&q, "x", &f, &reused) == -EINVAL);
        }
        CHECK(userns_lease_release(leases, "broken") == 1 && userns_lease_release(leases, "beta") == 1 &&
              userns_lease_release(leases, "alpha") == 1);
}

static void test_collisions(void) {
        const uint32_t first = 0x10000000U, last = first + 2 * USERNS_RANGE_SIZE;
        UsernsPool p = pool(first, last, false);
        uint32_t b = 0, e1, e2, e3;
        bool reused;
        char lock[300];
        int fd;

        /* Exhaustion of a three-range window. */
        CHECK(userns_lease_acquire(&p, "e1", &e1, &reused) == 0);
        CHECK(userns_lease_acquire(&p, "e2", &e2, &reused) == 0);
        CHECK(userns_lease_acquire(&p, "e3", &e3, &reused) == 0);
        CHECK(e1 != e2 && e2 != e3 && e1 != e3);
        CHECK(userns_lease_acquire(&p, "e4", &b, &reused) == -EBUSY);
        CHECK(userns_lease_acquire(&p, "e2", &b, &reused) == 0 && reused && b == e2);
        CHECK(userns_lease_release(leases, "e2") == 1);
        CHECK(userns_lease_acquire(&p, "e4", &b, &reused) == 0 && b == e2);
        CHECK(userns_lease_release(leases, "e4") == 1);

        /* A range a running systemd-nspawn picked (it holds an flock on its
         * lock file) is skipped, and a kept lease that now meets one is
         * refused rather than moved; the file a killed nspawn left, which
         * nobody holds, takes nothing. */
        snprintf(lock, sizeof lock, "%s/%u", locks, e2);
        fd = open(lock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        CHECK(flock(fd, LOCK_EX) == 0);
        CHECK_MSG(userns_lease_acquire(&p, "e5", &b, &reused) == -EBUSY, "nspawn's held lock file keeps the range taken");
        close(fd);
        CHECK_MSG(userns_lease_acquire(&p, "e5", &b, &reused) == 0 && b == e2,
                  "a lock file nobody holds (a killed nspawn's) takes nothing");
        CHECK(userns_lease_release(leases, "e5") == 1);
        fd = open(lock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
        CHECK_MSG(userns_lease_acquire(&p, "e5", &b, &reused) == -EBUSY, "held again: taken again");
        close(fd);
        snprintf(lock, sizeof lock, "%s/%u", locks, e1);
        fd = open(lock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
        CHECK(userns_lease_acquire(&p, "e1", &b, &reused) == -EADDRINUSE);
        close(fd);
        CHECK_MSG(userns_lease_acquire(&p, "e1", &b, &reused) == 0 && reused && b == e1,
                  "a kept lease is usable again once nobody holds the lock");
        CHECK(unlink(lock) == 0);
        snprintf(lock, sizeof lock, "%s/%u", locks, e2);
        CHECK(unlink(lock) == 0);
        CHECK(userns_lease_release(leases, "e1") == 1 && userns_lease_release(leases, "e3") == 1);

        /* NSS: uid and gid 0 exist, so the range at 0 is never handed out. */
        {
                UsernsPool q = pool(0, 0, true), r = pool(0, 0, false);
                CHECK_MSG(userns_lease_acquire(&q, "root-range", &b, &reused) == -EBUSY,
                          "a range NSS knows users in is not leased");
                CHECK(userns_lease_acquire(&r, "root-range", &b, &reused) == 0 && b == 0);
                CHECK(userns_lease_acquire(&q, "root-range", &b, &reused) == -EADDRINUSE);
                CHECK(userns_lease_release(leases, "root-range") == 1);
        }

        /* The documented container range. */
        CHECK(USERNS_FIRST_BASE == 0x00080000U);
        CHECK((uint64_t) USERNS_LAST_BASE + USERNS_RANGE_SIZE - 1 == 0x6FFFFFFFULL);
}

static void test_concurrent(void) {
        enum { N = 24 };
        pid_t pids[N];
        uint32_t bases[N];
        bool distinct = true, all = true;

        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        /* A window of exactly N ranges: every one must be used once. */
                        UsernsPool p = pool(0x20000000U, 0x20000000U + (N - 1) * USERNS_RANGE_SIZE, false);
                        char name[32];
                        uint32_t b;
                        bool reused;
                        snprintf(name, sizeof name, "c%d", i);
                        _exit(userns_lease_acquire(&p, name, &b, &reused) == 0 ? 0 : 1);
                }
        }
        for (int i = 0; i < N; i++) {
                int st;
                if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
                        all = false;
        }
        CHECK_MSG(all, "%d agents leased a range at the same time", N);
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof name, "c%d", i);
                if (userns_lease_find(leases, name, &bases[i]) < 0) {
                        all = false;
                        bases[i] = (uint32_t) i;
                }
                for (int j = 0; j < i; j++)
                        if (bases[j] == bases[i])
                                distinct = false;
        }
        CHECK(all);
        CHECK_MSG(distinct, "no range was handed out twice");
        for (int i = 0; i < N; i++) {
                char name[32];
                snprintf(name, sizeof name, "c%d", i);
                (void) userns_lease_release(leases, name);
        }
}

int main(void) {
        char cmd[300];

        log_set_max_level(LOG_CRIT);
        if (!mkdtemp(tmp))
                return 1;
        snprintf(leases, sizeof leases, "%s/userns", tmp);
        snprintf(locks, sizeof locks, "%s/nspawn-uid", tmp);
        if (mkdir(locks, 0700) < 0)
                return 1;

        test_stable();
        test_collisions();
        test_concurrent();

        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp);
        CHECK(system(cmd) == 0);
        return tap_finish();
}
