/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-namespace ranges for agents: one lease file per 65536-id range in
 * $RUNTIME/.userns/, named by the range's base in hex and holding the agent's
 * name. O_EXCL creation is the lock: two agents starting at the same moment
 * can never get the same range. /run is emptied at boot, so leases never
 * outlive the ids they hand out. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* Lease file names are exactly 8 lower-case hex digits. */
static int parse_lease_name(const char *s, uint32_t *ret) {
        uint32_t v = 0;

        if (strlen(s) != 8)
                return -EINVAL;
        for (size_t i = 0; i < 8; i++) {
                char c = s[i];
                uint32_t d;
                if (c >= '0' && c <= '9')
                        d = (uint32_t) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (uint32_t) (c - 'a' + 10);
                else
                        return -EINVAL;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

/* Reads a lease's content; 1 if it names NAME, 0 if not, -errno. */
static int lease_is_of(int dfd, const char *file, const char *name) {
        _cleanup_close_ int fd = -EBADF;
        char buf[AGENT_NAME_MAX + 2];
        ssize_t n;

        fd = openat(dfd, file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = 0;
        if (n > 0 && buf[n - 1] == '\n')
                buf[n - 1] = 0;
        return streq(buf, name);
}

/* Calls cb for every lease of NAME; stops at the first error. */
static int for_each_own_lease(const char *lease_dir, const char *name,
                              int (*cb)(int dfd, const char *file, uint32_t base, void *userdata),
                              void *userdata) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int n = 0, r;

        d = opendir(lease_dir);
        if (!d)
                return negative_errno();

        while ((errno = 0, de = readdir(d))) {
                uint32_t base;

                if (parse_lease_name(de->d_name, &base) < 0)
                        continue;
                r = lease_is_of(dirfd(d), de->d_name, name);
                if (r == -ENOENT) /* released meanwhile */
                        continue;
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                r = cb(dirfd(d), de->d_name, base, userdata);
                if (r < 0)
                        return r;
                n++;
                if (r > 0) /* callback is done */
                        break;
        }
        if (errno > 0)
                return -errno;
        return n;
}

static int find_cb(int dfd, const char *file, uint32_t base, void *userdata) {
        uint32_t *p = userdata;
        if (*p == UINT32_MAX || base < *p)
                *p = base;
        return 0;
}

int userns_lease_find(const char *lease_dir, const char *name, uint32_t *ret_base) {
        uint32_t base = UINT32_MAX;
        int r;

        r = for_each_own_lease(lease_dir, name, find_cb, &base);
        if (r < 0)
                return r;
        if (base == UINT32_MAX)
                return -ENOENT;
        *ret_base = base;
        return 0;
}

int userns_lease_acquire(const char *lease_dir, const char *name, uint32_t first, uint32_t last,
                         uint32_t *ret_base, bool *ret_reused) {
        _cleanup_close_ int dfd = -EBADF;
        uint32_t base;
        int r;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        if (first % USERNS_RANGE_SIZE != 0 || last % USERNS_RANGE_SIZE != 0 || first > last)
                return -EINVAL;

        if (mkdir(lease_dir, 0700) < 0 && errno != EEXIST)
                return negative_errno();

        /* A restart keeps its range: files the agent left in the shared state
         * directory stay owned by the same host ids. */
        r = userns_lease_find(lease_dir, name, &base);
        if (r >= 0 && base >= first && base <= last && base % USERNS_RANGE_SIZE == 0) {
                *ret_base = base;
                *ret_reused = true;
                return 0;
        }
        if (r < 0 && r != -ENOENT)
                return r;

        dfd = open(lease_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return negative_errno();

        for (uint64_t b = first; b <= last; b += USERNS_RANGE_SIZE) {
                _cleanup_close_ int fd = -EBADF;
                char file[16], content[AGENT_NAME_MAX + 2];
                size_t len;
                ssize_t k;

                (void) snprintf(file, sizeof file, "%08" PRIx32, (uint32_t) b);
                fd = openat(dfd, file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (fd < 0) {
                        if (errno == EEXIST)
                                continue;
                        return negative_errno();
                }

                len = (size_t) snprintf(content, sizeof content, "%s\n", name);
                k = write(fd, content, len);
                if (k != (ssize_t) len) {
                        r = k < 0 ? negative_errno() : -EIO;
                        (void) unlinkat(dfd, file, 0);
                        return r;
                }
                *ret_base = (uint32_t) b;
                *ret_reused = false;
                return 0;
        }
        return -EBUSY;
}

static int release_cb(int dfd, const char *file, uint32_t base, void *userdata) {
        if (unlinkat(dfd, file, 0) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int userns_lease_release(const char *lease_dir, const char *name) {
        int r;

        r = for_each_own_lease(lease_dir, name, release_cb, NULL);
        if (r == -ENOENT)
                return 0;
        return r;
}
