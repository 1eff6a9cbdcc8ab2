/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-namespace range leases: distinct ranges for distinct agents, the own
 * lease kept across restarts, the lowest free range reused after a release,
 * a clear error when every range is taken, and no double allocation when
 * many agents start at once. */

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"
#include "tap.h"

static char tmp[] = "/tmp/test-userns-XXXXXX";
static char leases[256];

static int read_lease(uint32_t base, char *buf, size_t size) {
        char p[300];
        int fd;
        ssize_t n;

        snprintf(p, sizeof p, "%s/%08x", leases, base);
        fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -EIO;
        buf[n] = 0;
        return 0;
}

static void test_basic(void) {
        uint32_t a = 0, b = 0, a2 = 0, c = 0, f = 0;
        bool reused = true;
        char buf[128];
        struct stat st;

        CHECK(userns_lease_acquire(leases, "alpha", USERNS_FIRST_BASE, USERNS_LAST_BASE, &a, &reused) == 0);
        CHECK(a == 0x70000000U);
        CHECK(!reused);
        CHECK(stat(leases, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0700);
        CHECK(read_lease(a, buf, sizeof buf) == 0 && streq(buf, "alpha\n"));

        CHECK(userns_lease_acquire(leases, "beta", USERNS_FIRST_BASE, USERNS_LAST_BASE, &b, &reused) == 0);
        CHECK_MSG(b == 0x70010000U && b != a, "second agent gets the next range (0x%x)", b);

        /* restart: same range, flagged as reused */
        CHECK(userns_lease_acquire(leases, "alpha", USERNS_FIRST_BASE, USERNS_LAST_BASE, &a2, &reused) == 0);
        CHECK(a2 == a && reused);
        CHECK(userns_lease_find(leases, "beta", &f) == 0 && f == b);
        CHECK(userns_lease_find(leases, "gamma", &f) == -ENOENT);

        /* release frees the range for the next one */
        CHECK(userns_lease_release(leases, "alpha") == 1);
        CHECK(userns_lease_release(leases, "alpha") == 0);
        CHECK(read_lease(a, buf, sizeof buf) == -ENOENT);
        CHECK(userns_lease_acquire(leases, "gamma", USERNS_FIRST_BASE, USERNS_LAST_BASE, &c, &reused) == 0);
        CHECK(c == 0x70000000U && !reused);

        /* a prefix of a name is another name */
        CHECK(userns_lease_find(leases, "gamm", &f) == -ENOENT);
        CHECK(userns_lease_find(leases, "gammaa", &f) == -ENOENT);

        /* junk in the directory is ignored, not mistaken for a lease */
        {
                char p[300];
                snprintf(p, sizeof p, "%s/not-a-lease", leases);
                CHECK(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
                snprintf(p, sizeof p, "%s/7002000", leases);
                CHECK(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600)) == 0);
                CHECK(userns_lease_acquire(leases, "delta", USERNS_FIRST_BASE, USERNS_LAST_BASE, &f, &reused) == 0);
                CHECK(f == 0x70020000U);
        }

        CHECK(userns_lease_release(leases, "beta") == 1);
        CHECK(userns_lease_release(leases, "gamma") == 1);
        CHECK(userns_lease_release(leases, "delta") == 1);
        CHECK(userns_lease_acquire(leases, "bad/name", USERNS_FIRST_BASE, USERNS_LAST_BASE, &f, &reused) == -EINVAL);
        CHECK(userns_lease_acquire(leases, "x", USERNS_FIRST_BASE + 1, USERNS_LAST_BASE, &f, &reused) == -EINVAL);
}

static void test_limits(void) {
        uint32_t b = 0;
        bool reused;

        /* The real range ends below 0x7FFE0000: higher ids are reserved or
         * mistaken for negative numbers by tools. */
        CHECK((uint64_t) USERNS_LAST_BASE + USERNS_RANGE_SIZE - 1 == 0x7FFCFFFFULL);
        CHECK(USERNS_FIRST_BASE == 0x70000000U);

        /* exhaustion of a three-range window */
        const uint32_t first = 0x80000000U, last = first + 2 * USERNS_RANGE_SIZE;
        CHECK(userns_lease_acquire(leases, "e1", first, last, &b, &reused) == 0 && b == first);
        CHECK(userns_lease_acquire(leases, "e2", first, last, &b, &reused) == 0 && b == first + USERNS_RANGE_SIZE);
        CHECK(userns_lease_acquire(leases, "e3", first, last, &b, &reused) == 0 && b == last);
        CHECK(userns_lease_acquire(leases, "e4", first, last, &b, &reused) == -EBUSY);
        /* the own lease is still found when the window is full */
        CHECK(userns_lease_acquire(leases, "e2", first, last, &b, &reused) == 0 && reused &&
              b == first + USERNS_RANGE_SIZE);
        CHECK(userns_lease_release(leases, "e2") == 1);
        CHECK(userns_lease_acquire(leases, "e4", first, last, &b, &reused) == 0 && b == first + USERNS_RANGE_SIZE);
        CHECK(userns_lease_release(leases, "e1") == 1 && userns_lease_release(leases, "e3") == 1 &&
              userns_lease_release(leases, "e4") == 1);

        /* the very last range of the real window can be taken */
        CHECK(userns_lease_acquire(leases, "last", USERNS_LAST_BASE, USERNS_LAST_BASE, &b, &reused) == 0 &&
              b == USERNS_LAST_BASE);
        CHECK(userns_lease_release(leases, "last") == 1);
}

static void test_concurrent(void) {
        enum { N = 24 };
        pid_t pids[N];
        uint32_t bases[N];
        bool distinct = true, all = true;

        for (int i = 0; i < N; i++) {
                pids[i] = fork();
                if (pids[i] == 0) {
                        char name[32];
                        uint32_t b;
                        bool reused;
                        snprintf(name, sizeof name, "c%d", i);
                        _exit(userns_lease_acquire(leases, name, USERNS_FIRST_BASE, USERNS_LAST_BASE, &b, &reused) == 0 ? 0 : 1);
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
        snprintf(leases, sizeof leases, "%s/.userns", tmp);

        test_basic();
        test_limits();
        test_concurrent();

        snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", tmp);
        CHECK(system(cmd) == 0);
        return tap_finish();
}
