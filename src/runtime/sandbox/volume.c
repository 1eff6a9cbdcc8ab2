/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The encrypted volatile workspace.
 *
 *   memfd (RAM, --workspace-size bytes) → loop device → dm-crypt (plain,
 *   aes-xts-plain64, 512-bit key from getrandom(), 4096-byte sectors)
 *   → ext4 without journal → $RUNTIME/NAME/workspace (nosuid,nodev,noexec)
 *
 * The key exists in our memory only between getrandom() and the activation
 * ioctl (mlock()ed, wiped right after) and from then on only in the kernel's
 * dm-crypt target; deactivating the mapping forgets it. Nothing ever stores
 * it, so what the agent wrote is unrecoverable once the mapping is gone, and
 * the RAM behind it (or a swapped-out page of it) holds ciphertext only.
 *
 * Where the memory is charged, and what bounds it: the memfd is shmem. Its
 * pages are charged to the memory cgroup of whoever first faults them in.
 * configure runs in agent-runtime start, the ExecStart= of
 * agent@NAME.service, so pages mkfs touches are charged to that unit's cgroup; afterwards the agent's writes
 * reach the memfd through the loop driver, which (since Linux 5.12) issues
 * its I/O on behalf of the blkcg/memcg of the writer, i.e. again
 * agent@NAME.service. The unit's MemoryMax= therefore covers the workspace
 * together with the agent's own memory, and the workspace can never grow
 * beyond --workspace-size because the loop device has that fixed size. The
 * mapping allows discards and ext4 is mounted with "discard": deleting files
 * punches holes into the memfd, so the memory used follows the live data
 * rather than the high-water mark. The memory is freed when the loop device
 * is detached (it holds the last reference to the memfd). */

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libcryptsetup.h>
#include <libmount.h>
#include <linux/dm-ioctl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "configure.h"
#include "log.h"

#define MEMFD_PREFIX "agentcage-workspace-"
#define MAPPING_PREFIX "agentcage-"
#define WORKSPACE_KEY_SIZE 64 /* aes-xts with two 256-bit keys */

extern char **environ;

static void crypt_freep(struct crypt_device **cd) {
        if (*cd)
                crypt_free(*cd);
}

/* libcryptsetup's messages go through our log, at a matching level. It never
 * passes key material to its log callback. */
static void crypt_log_cb(int level, const char *msg, void *usrptr) {
        size_t n = strlen(msg);
        int l;

        while (n > 0 && msg[n - 1] == '\n')
                n--;
        switch (level) {
        case CRYPT_LOG_ERROR:
                l = LOG_ERR;
                break;
        case CRYPT_LOG_VERBOSE:
        case CRYPT_LOG_DEBUG:
        case CRYPT_LOG_DEBUG_JSON:
                l = LOG_DEBUG;
                break;
        default:
                l = LOG_INFO;
        }
        log_full(l, "libcryptsetup: %.*s", (int) n, msg);
}

/* For probes whose failure is an answer ("no device-mapper here"), not an
 * error worth a line in systemctl status. */
static void crypt_log_quiet_cb(int level, const char *msg, void *usrptr) {
        crypt_log_cb(CRYPT_LOG_DEBUG, msg, usrptr);
}

int workspace_mapping_name(const char *name, char **ret) {
        char *s;

        if (!agent_name_is_valid(name))
                return -EINVAL;
        if (asprintf(&s, MAPPING_PREFIX "%s", name) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* Attaches MEMFD to a free loop device. Returns the loop fd (which keeps the
 * device alive: it is set to detach itself on last close) and its path. */
static int loop_attach(int memfd, const char *name, char **ret_path) {
        _cleanup_close_ int ctl = -EBADF;
        int r = -EBUSY;

        ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return negative_errno();

        /* Another process may grab the device between GET_FREE and CONFIGURE;
         * then LOOP_CONFIGURE fails EBUSY and we ask again. */
        for (int attempt = 0; attempt < 32; attempt++) {
                _cleanup_close_ int lfd = -EBADF;
                _cleanup_free_ char *path = NULL;
                struct loop_config cfg = {};
                int nr;

                nr = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return negative_errno();
                if (asprintf(&path, "/dev/loop%d", nr) < 0)
                        return -ENOMEM;
                lfd = open(path, O_RDWR | O_CLOEXEC);
                if (lfd < 0) {
                        r = negative_errno();
                        if (r == -ENOENT || r == -ENXIO)
                                continue;
                        return r;
                }

                cfg.fd = (uint32_t) memfd;
                cfg.block_size = WORKSPACE_SECTOR_SIZE;
                cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
                (void) snprintf((char *) cfg.info.lo_file_name, sizeof cfg.info.lo_file_name,
                                MEMFD_PREFIX "%s", name);
                if (ioctl(lfd, LOOP_CONFIGURE, &cfg) < 0) {
                        r = negative_errno();
                        if (r == -EBUSY)
                                continue;
                        return r;
                }
                *ret_path = TAKE_PTR(path);
                return TAKE_FD(lfd);
        }
        return r;
}

/* Runs mkfs.ext4 on DEV. The only external program we run: neither
 * libcryptsetup nor libmount make filesystems, and e2fsprogs has no
 * stable library interface for it. */
static int make_filesystem(const char *dev) {
        static const char *const candidates[] = { "/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4" };
        const char *mkfs = NULL;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status, r;
        char *env[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (access(candidates[i], X_OK) >= 0) {
                        mkfs = candidates[i];
                        break;
                }
        if (!mkfs)
                return log_error_errno(-ENOENT, "mkfs.ext4 not found (is e2fsprogs installed?).");

        /* -O ^has_journal: nothing survives a crash anyway, a journal would
         * only cost RAM and writes. lazy_itable_init: do not write the
         * inode tables now (they would commit RAM for the whole table);
         * the mount option noinit_itable keeps the kernel from zeroing them
         * later, which is safe because ext4 only trusts initialised groups.
         * nodiscard: the device is fresh, a discard pass is wasted time.
         * -m 0: no blocks reserved for root, the agent is the only user. */
        char *argv[] = {
                (char *) "mkfs.ext4", (char *) "-q", (char *) "-F", (char *) "-m", (char *) "0",
                (char *) "-b", (char *) "4096", (char *) "-O", (char *) "^has_journal",
                (char *) "-E", (char *) "lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                (char *) "-L", (char *) "workspace", (char *) dev, NULL,
        };

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn(&pid, mkfs, &fa, NULL, argv, env);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return log_error_errno(-r, "Failed to run %s: %m", mkfs);

        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(negative_errno(), "Failed to wait for %s: %m", mkfs);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(-EIO, "%s %s failed (%s %d).", mkfs, dev,
                                       WIFEXITED(status) ? "exit status" : "signal",
                                       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        return 0;
}

static int mount_workspace(const char *dev, const char *where) {
        return mount_libmount(dev, where, "ext4", "nosuid,nodev,noexec,noatime,discard,noinit_itable", NULL, 0);
}

/* Refuses sizes the machine could never back: the check that stops
 * "WorkspaceSize=1T" on a 2 GiB machine with a clear message rather than an
 * agent that dies of ENOSPC or an OOM kill later. */
static int check_size_fits(uint64_t size) {
        struct sysinfo si;
        uint64_t total;

        if (sysinfo(&si) < 0)
                return negative_errno();
        total = (uint64_t) si.totalram * si.mem_unit;
        if (size > total)
                return log_error_errno(-E2BIG,
                                       "The workspace of %llu bytes is larger than this machine's RAM (%llu bytes), refusing.",
                                       (unsigned long long) size, (unsigned long long) total);
        return 0;
}

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Activates MAPPING over LOOP_PATH with a key from the kernel's random
 * generator. Logs. */
static int activate_with_fresh_key(struct crypt_device *cd, const char *mapping, const char *loop_path) {
        _Alignas(64) unsigned char key[WORKSPACE_KEY_SIZE] = {};
        int r = 0;

        /* The key: locked so it is never swapped out, wiped the moment the
         * kernel has its copy. A failing mlock() is fatal: root always may. */
        if (mlock(key, sizeof key) < 0)
                return log_error_errno(negative_errno(), "Failed to lock the workspace key in memory: %m");
        for (size_t got = 0; got < sizeof key;) {
                ssize_t k = getrandom(key + got, sizeof key - got, 0);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = k < 0 ? negative_errno() : -EIO;
                        break;
                }
                got += (size_t) k;
                r = 0;
        }
        if (r >= 0)
                r = crypt_activate_by_volume_key(cd, mapping, (const char *) key, sizeof key,
                                                 CRYPT_ACTIVATE_ALLOW_DISCARDS);
        explicit_bzero(key, sizeof key);
        (void) munlock(key, sizeof key);
        if (r < 0)
                return log_error_errno(r, "Failed to activate the dm-crypt mapping %s on %s: %m", mapping, loop_path);
        return 0;
}

/* Mounts the workspace file system DEV at MOUNT_POINT, empty and owned by
 * OWNER, 0700. Logs. */
static int mount_and_hand_over(const char *dev, const char *mount_point, uid_t owner) {
        _cleanup_close_ int dfd = -EBADF;
        int r;

        if (mkdir(mount_point, 0700) < 0 && errno != EEXIST)
                return log_error_errno(negative_errno(), "Failed to create %s: %m", mount_point);
        r = mount_workspace(dev, mount_point);
        if (r < 0)
                return log_error_errno(r, "Failed to mount %s at %s: %m", dev, mount_point);

        dfd = open(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", mount_point);
        /* An empty workspace: lost+found is for fsck, which never runs on a
         * filesystem that lives as long as the agent. */
        (void) unlinkat(dfd, "lost+found", AT_REMOVEDIR);
        if (fchown(dfd, owner, owner) < 0 || fchmod(dfd, 0700) < 0)
                return log_error_errno(negative_errno(), "Failed to hand %s to the agent: %m", mount_point);
        return 0;
}

int workspace_setup(const char *name, const char *mount_point, uint64_t size, uid_t owner) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        _cleanup_free_ char *mapping = NULL, *loop_path = NULL, *dev = NULL, *memfd_name = NULL;
        _cleanup_close_ int memfd = -EBADF, loopfd = -EBADF;
        struct crypt_params_plain params = { .sector_size = WORKSPACE_SECTOR_SIZE };
        double t0 = now_sec();
        int r;

        if (size < WORKSPACE_SIZE_MIN || size > WORKSPACE_SIZE_MAX || size % WORKSPACE_SECTOR_SIZE != 0)
                return log_error_errno(-EINVAL, "Invalid workspace size %llu.", (unsigned long long) size);
        r = check_size_fits(size);
        if (r < 0)
                return r;

        r = workspace_mapping_name(name, &mapping);
        if (r < 0)
                return log_error_errno(r, "Invalid agent name '%s'.", name);
        if (asprintf(&memfd_name, MEMFD_PREFIX "%s", name) < 0)
                return log_oom();

        memfd = memfd_create(memfd_name, MFD_CLOEXEC);
        if (memfd < 0)
                return log_error_errno(negative_errno(), "Failed to create the workspace memory: %m");
        /* Sparse: no memory is used until written. */
        if (ftruncate(memfd, (off_t) size) < 0)
                return log_error_errno(negative_errno(), "Failed to size the workspace memory to %llu bytes: %m",
                                       (unsigned long long) size);

        r = loop_attach(memfd, name, &loop_path);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the workspace memory to a loop device: %m");
        loopfd = r;
        /* The loop device holds its own reference to the memory now. */
        closep(&memfd);
        memfd = -EBADF;

        crypt_set_log_callback(NULL, crypt_log_cb, NULL);
        r = crypt_init(&cd, loop_path);
        if (r < 0) {
                log_error_errno(r, "Failed to open %s for dm-crypt: %m", loop_path);
                goto fail;
        }
        crypt_set_log_callback(cd, crypt_log_cb, NULL);
        r = crypt_format(cd, CRYPT_PLAIN, "aes", "xts-plain64", NULL, NULL, WORKSPACE_KEY_SIZE, &params);
        if (r < 0) {
                log_error_errno(r, "Failed to set up dm-crypt parameters on %s: %m", loop_path);
                goto fail;
        }

        r = activate_with_fresh_key(cd, mapping, loop_path);
        if (r < 0)
                goto fail;
        log_info("Activated dm-crypt mapping %s on %s (%llu bytes of RAM).", mapping, loop_path,
                 (unsigned long long) size);

        /* The mapping keeps the loop device open; ours can go. */
        closep(&loopfd);
        loopfd = -EBADF;

        if (asprintf(&dev, "%s/%s", crypt_get_dir(), mapping) < 0) {
                r = log_oom();
                goto fail;
        }
        r = make_filesystem(dev);
        if (r < 0)
                goto fail;

        r = mount_and_hand_over(dev, mount_point, owner);
        if (r < 0)
                goto fail;

        log_info("Workspace of %llu bytes ready at %s in %.3fs.", (unsigned long long) size, mount_point,
                 now_sec() - t0);
        return 0;

fail:
        crypt_free(cd);
        cd = NULL;
        closep(&loopfd);
        loopfd = -EBADF;
        (void) workspace_teardown(name, mount_point);
        return r;
}

/* Whether the kernel can have dm mappings at all. On a kernel without
 * device-mapper there is nothing to deactivate, and asking libcryptsetup
 * would only produce noise. */
static bool have_device_mapper(void) {
        return access("/dev/mapper/control", F_OK) >= 0 || access("/sys/module/dm_mod", F_OK) >= 0;
}

/* Removes the device-mapper device NAME whatever it holds, with the ioctl
 * itself: libcryptsetup only handles devices it can read a crypt table from.
 * 1 removed (or, deferred, marked for removal on last close), 0 none, -errno. */
static int dm_remove_by_name(const char *name, bool deferred) {
        _cleanup_close_ int fd = -EBADF;
        struct dm_ioctl io = {
                .version = { DM_VERSION_MAJOR, 0, 0 },
                .data_size = sizeof io,
                .data_start = sizeof io,
                .flags = deferred ? DM_DEFERRED_REMOVE : 0,
        };

        if (strlen(name) >= sizeof io.name)
                return -ENAMETOOLONG;
        memcpy(io.name, name, strlen(name) + 1);
        fd = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
        if (fd < 0)
                /* A node without the driver behind it: no device at all. */
                return errno == ENOENT || errno == ENODEV || errno == ENXIO ? 0 : negative_errno();
        if (ioctl(fd, DM_DEV_REMOVE, &io) < 0)
                return errno == ENXIO ? 0 : negative_errno();
        return 1;
}

/* A start killed between the ioctls that create a mapping and load its
 * table leaves a device of the mapping's name without a crypt table:
 * libcryptsetup calls it invalid and will not touch it, and every later
 * start of the agent would fail on the name. It holds no key, and the name
 * is the agent's own (MAPPING_PREFIX + NAME), so it goes. */
static int unfinished_mapping_teardown(const char *mapping) {
        int r;

        for (int i = 0; i < 50; i++) {
                r = dm_remove_by_name(mapping, false);
                if (r != -EBUSY)
                        break;
                (void) usleep(100 * 1000);
        }
        if (r == -EBUSY)
                r = dm_remove_by_name(mapping, true);
        if (r < 0)
                return log_error_errno(r, "Failed to remove the unfinished device-mapper device %s: %m", mapping);
        if (r > 0)
                log_info("Removed device-mapper device %s, left without a crypt table by an interrupted start.",
                         mapping);
        return r;
}

static int crypt_teardown(const char *mapping) {
        _cleanup_(crypt_freep) struct crypt_device *cd = NULL;
        crypt_status_info st;
        int r;

        if (!have_device_mapper())
                return 0;

        crypt_set_log_callback(NULL, crypt_log_quiet_cb, NULL);
        st = crypt_status(NULL, mapping);
        crypt_set_log_callback(NULL, crypt_log_cb, NULL);
        if (st == CRYPT_INACTIVE)
                return 0;
        if (st == CRYPT_INVALID)
                return unfinished_mapping_teardown(mapping);

        r = crypt_init_by_name(&cd, mapping);
        if (r < 0)
                return log_error_errno(r, "Failed to look up dm-crypt mapping %s: %m", mapping);
        crypt_set_log_callback(cd, crypt_log_cb, NULL);

        /* udev probes a new or just unmounted device and briefly holds it
         * open: retry for a moment before settling for a deferred removal. */
        for (int i = 0; i < 50; i++) {
                r = crypt_deactivate_by_name(cd, mapping, 0);
                if (r != -EBUSY)
                        break;
                (void) usleep(100 * 1000);
        }
        if (r == -EBUSY) {
                r = crypt_deactivate_by_name(cd, mapping, CRYPT_DEACTIVATE_DEFERRED);
                if (r >= 0) {
                        log_warning("dm-crypt mapping %s is still open; it will be removed (and its key "
                                    "forgotten) when the last user closes it.", mapping);
                        return 1;
                }
        }
        if (r < 0)
                return log_error_errno(r, "Failed to deactivate dm-crypt mapping %s: %m", mapping);
        log_info("Deactivated dm-crypt mapping %s; the kernel forgot its key.", mapping);
        return 1;
}

/* Finds loop devices whose backing file is NAME's workspace memfd and
 * detaches them. Normally none is left: the device detaches itself when the
 * mapping closes it. This catches a configure that died in between. */
static int loop_teardown(const char *name) {
        _cleanup_free_ char *want = NULL;
        glob_t g = {};
        int n = 0, r = 0;

        if (asprintf(&want, "/memfd:" MEMFD_PREFIX "%s (deleted)", name) < 0)
                return log_oom();

        if (glob("/sys/block/loop*/loop/backing_file", GLOB_NOSORT, NULL, &g) != 0) {
                globfree(&g);
                return 0;
        }
        for (size_t i = 0; i < g.gl_pathc; i++) {
                _cleanup_fclose_ FILE *f = NULL;
                _cleanup_free_ char *dev = NULL;
                _cleanup_close_ int fd = -EBADF;
                char line[512];
                const char *b;
                size_t len;

                f = fopen(g.gl_pathv[i], "re");
                if (!f || !fgets(line, sizeof line, f))
                        continue;
                len = strlen(line);
                if (len > 0 && line[len - 1] == '\n')
                        line[len - 1] = 0;
                if (!streq(line, want))
                        continue;

                /* /sys/block/loopN/loop/backing_file → /dev/loopN */
                b = g.gl_pathv[i] + strlen("/sys/block/");
                if (asprintf(&dev, "/dev/%.*s", (int) strcspn(b, "/"), b) < 0) {
                        r = log_oom();
                        break;
                }
                fd = open(dev, O_RDONLY | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT || errno == ENXIO)
                                continue;
                        r = log_error_errno(negative_errno(), "Failed to open %s: %m", dev);
                        continue;
                }
                if (ioctl(fd, LOOP_CLR_FD) < 0) {
                        if (errno == ENXIO) /* detached meanwhile */
                                continue;
                        r = log_error_errno(negative_errno(), "Failed to detach %s: %m", dev);
                        continue;
                }
                /* With others still holding it open the kernel only marks the
                 * device to detach on last close; either way we let go. */
                log_info("Detached loop device %s; the workspace memory is freed.", dev);
                n++;
        }
        globfree(&g);
        return r < 0 ? r : n;
}

int workspace_teardown(const char *name, const char *mount_point) {
        _cleanup_free_ char *mapping = NULL;
        bool did = false;
        int r, ret = 0;

        r = workspace_mapping_name(name, &mapping);
        if (r < 0)
                return log_error_errno(r, "Invalid agent name '%s'.", name);

        r = umount_recursive(mount_point, "workspace");
        if (r < 0)
                return r; /* never deactivate under a mounted filesystem */
        did = did || r > 0;
        if (rmdir(mount_point) >= 0)
                did = true;
        else if (errno != ENOENT)
                ret = log_error_errno(negative_errno(), "Failed to remove %s: %m", mount_point);

        r = crypt_teardown(mapping);
        if (r < 0 && ret == 0)
                ret = r;
        did = did || r > 0;

        r = loop_teardown(name);
        if (r < 0 && ret == 0)
                ret = r;
        did = did || r > 0;

        return ret < 0 ? ret : did;
}
