/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* User-namespace ranges for agents: each agent name leases one 65536-id
 * range for good, one file per agent in /var/lib/agentcage/userns/ holding
 * "0xBASE". A range survives restarts and reboots, so the files an agent
 * leaves in its shared state stay owned by its own host ids, and no other
 * agent ever gets those ids.
 *
 * The ranges lie where systemd documents container ranges (UIDS-GIDS.md),
 * the same place systemd-nspawn --private-users=pick draws from. A range is
 * only handed out when no other agent leases it, systemd-nspawn holds no lock
 * file for it (/run/systemd/nspawn-uid/BASE) and NSS knows no user or group
 * in it, which is what nspawn itself checks before it takes one. Allocation
 * is serialised with flock() on the lease directory. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent-state.h"
#include "configure.h"
#include "fs-util.h"
#include "log.h"

typedef struct Lease {
        char name[AGENT_NAME_MAX + 1];
        uint32_t base;
} Lease;

typedef struct Taken {
        Lease *leases;
        size_t n_leases;
        uint32_t *ids; /* uids and gids NSS knows in the pool */
        size_t n_ids;
} Taken;

static void taken_done(Taken *t) {
        free(t->leases);
        free(t->ids);
}

/* "0x" and 8 hex digits, a newline, a base aligned to the range size. */
static int parse_lease(const char *text, uint32_t *ret) {
        char *end = NULL;
        unsigned long v;

        if (strlen(text) != 11 || strncmp(text, "0x", 2) != 0 || text[10] != '\n' ||
            strspn(text + 2, "0123456789abcdef") != 8)
                return -EBADMSG;
        v = strtoul(text + 2, &end, 16);
        if (end != text + 10 || v % USERNS_RANGE_SIZE != 0)
                return -EBADMSG;
        *ret = (uint32_t) v;
        return 0;
}

static int read_lease(int dfd, const char *name, uint32_t *ret) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = read_file_bounded(dfd, name, 64, &text, NULL);
        if (r < 0)
                return r == -EFBIG ? -EBADMSG : r;
        return parse_lease(text, ret);
}

int userns_lease_find(const char *lease_dir, const char *name, uint32_t *ret_base) {
        _cleanup_close_ int dfd = -EBADF;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        dfd = open(lease_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        return read_lease(dfd, name, ret_base);
}

static int collect_leases(int dfd, Taken *t) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r = opendir_dup(dfd, &d);

        if (r < 0)
                return r;
        while ((errno = 0, de = readdir(d))) {
                Lease *n;
                uint32_t base;

                if (!agent_name_is_valid(de->d_name) || read_lease(dfd, de->d_name, &base) < 0)
                        continue; /* not a lease (a temporary file, a malformed one) */
                n = realloc(t->leases, sizeof(Lease) * (t->n_leases + 1));
                if (!n)
                        return -ENOMEM;
                t->leases = n;
                memcpy(n[t->n_leases].name, de->d_name, strlen(de->d_name) + 1); /* valid: at most 63 */
                n[t->n_leases++].base = base;
        }
        return errno > 0 ? -errno : 0;
}

static int add_id(Taken *t, uint32_t id, const UsernsPool *p) {
        uint32_t *n;

        if (id < p->first || id > p->last + (USERNS_RANGE_SIZE - 1))
                return 0;
        n = realloc(t->ids, sizeof(uint32_t) * (t->n_ids + 1));
        if (!n)
                return -ENOMEM;
        t->ids = n;
        n[t->n_ids++] = id;
        return 0;
}

/* Every user and group NSS can enumerate inside the pool. */
static int collect_nss(Taken *t, const UsernsPool *p) {
        struct passwd *pw;
        struct group *gr;
        int r = 0;

        setpwent();
        while (r >= 0 && (pw = getpwent()))
                r = add_id(t, (uint32_t) pw->pw_uid, p);
        endpwent();
        setgrent();
        while (r >= 0 && (gr = getgrent()))
                r = add_id(t, (uint32_t) gr->gr_gid, p);
        endgrent();
        return r;
}

/* Whether a systemd-nspawn that picked the range at BASE runs: it holds an
 * flock(2) on its lock file while it does. A file nobody holds is what a
 * killed nspawn leaves behind; it must not take the range for good. */
static bool nspawn_lock_held(const char *dir, uint32_t base) {
        char lock[256];
        _cleanup_close_ int fd = -EBADF;

        (void) snprintf(lock, sizeof lock, "%s/%" PRIu32, dir, base);
        fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return errno != ENOENT; /* unreadable: assume the worst */
        return flock(fd, LOCK_SH | LOCK_NB) < 0;
}

/* Whether the range at BASE is someone else's. */
static bool range_taken(const UsernsPool *p, const Taken *t, const char *name, uint32_t base) {
        for (size_t i = 0; i < t->n_leases; i++)
                if (t->leases[i].base == base && !streq(t->leases[i].name, name))
                        return true;
        if (p->nspawn_lock_dir && nspawn_lock_held(p->nspawn_lock_dir, base))
                return true;
        if (!p->check_nss)
                return false;
        for (size_t i = 0; i < t->n_ids; i++)
                if (t->ids[i] >= base && t->ids[i] - base < USERNS_RANGE_SIZE)
                        return true;
        /* Backends that cannot be enumerated still answer for the base. */
        return getpwuid((uid_t) base) || getgrgid((gid_t) base);
}

/* FNV-1a: a fixed slot per name, so that a lost lease comes back the same. */
static uint32_t name_hash(const char *s) {
        uint32_t h = 2166136261U;
        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * 16777619U;
        return h;
}

static int lease_new(int dfd, const char *lease_dir, const UsernsPool *p, const Taken *t, const char *name,
                     uint32_t *ret) {
        uint32_t slots = (p->last - p->first) / USERNS_RANGE_SIZE + 1, start = name_hash(name) % slots;

        for (uint32_t i = 0; i < slots; i++) {
                uint32_t base = p->first + ((start + i) % slots) * USERNS_RANGE_SIZE;
                char text[16];
                int r;

                if (range_taken(p, t, name, base))
                        continue;
                (void) snprintf(text, sizeof text, "0x%08" PRIx32 "\n", base);
                r = write_file_atomic(lease_dir, name, text, strlen(text), 0600);
                if (r < 0)
                        return r;
                *ret = base;
                return 0;
        }
        return -EBUSY;
}

int userns_lease_acquire(const UsernsPool *p, const char *name, uint32_t *ret_base, bool *ret_reused) {
        _cleanup_(taken_done) Taken t = {};
        _cleanup_close_ int dfd = -EBADF;
        uint32_t base;
        int r;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        if (p->first % USERNS_RANGE_SIZE != 0 || p->last % USERNS_RANGE_SIZE != 0 || p->first > p->last)
                return -EINVAL;
        r = mkdir_no_symlink(p->lease_dir, 0700);
        if (r < 0)
                return r;
        dfd = open(p->lease_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        if (flock(dfd, LOCK_EX) < 0) /* released when dfd is closed */
                return negative_errno();

        r = collect_leases(dfd, &t);
        if (r >= 0 && p->check_nss)
                r = collect_nss(&t, p);
        if (r < 0)
                return r;

        r = read_lease(dfd, name, &base);
        if (r >= 0) {
                /* Kept for good: a range that now collides is reported, not
                 * silently replaced (the agent's files are owned by it). */
                if (base < p->first || base > p->last || range_taken(p, &t, name, base))
                        return -EADDRINUSE;
                *ret_base = base;
                *ret_reused = true;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = lease_new(dfd, p->lease_dir, p, &t, name, &base);
        if (r < 0)
                return r;
        *ret_base = base;
        *ret_reused = false;
        return 0;
}

int userns_lease_release(const char *lease_dir, const char *name) {
        _cleanup_close_ int dfd = -EBADF;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        dfd = open(lease_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (flock(dfd, LOCK_EX) < 0)
                return negative_errno();
        if (unlinkat(dfd, name, 0) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        return 1;
}

int userns_pool_default(UsernsPool *ret, char **ret_dir) {
        const char *root = agent_lease_root();
        int r;

        r = mkdir_no_symlink(root, 0700);
        if (r < 0)
                return r;
        if (asprintf(ret_dir, "%s/%s", root, AGENT_LEASE_USERNS_DIR) < 0)
                return -ENOMEM;
        *ret = (UsernsPool) {
                .lease_dir = *ret_dir,
                .nspawn_lock_dir = NSPAWN_UID_LOCK_DIR,
                .first = USERNS_FIRST_BASE,
                .last = USERNS_LAST_BASE,
                .check_nss = true,
        };
        return 0;
}
