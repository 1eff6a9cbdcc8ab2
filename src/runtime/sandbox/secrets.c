/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Secret delivery: every secret is copied from its source (a host file, or a
 * systemd credential of the unit) into a private ramfs at
 * $RUNTIME/NAME/secrets, which the unit bind-mounts read-only at
 * /run/secrets. ramfs rather than tmpfs because ramfs pages can never be
 * swapped out: a secret must not reach a disk. The copy in our own memory is
 * mlock()ed for the same reason, excluded from core dumps, and wiped before
 * it is freed. Values never reach a log line, argv or the environment:
 * messages name the secret and its source only. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "configure.h"
#include "parse-value.h"
#include "fs-util.h"
#include "log.h"

#define CRED_PREFIX "cred:"

/* The rule every secret source follows, at every level of its path: owned by
 * root and writable by nobody else, no symlink, and at the end a regular
 * file with exactly one link (another name for it could be anywhere, held by
 * anyone). Checked on the fds actually opened, one component at a time with
 * openat(O_NOFOLLOW): nothing can be swapped between check and read. */
#define SECRET_SOURCE_RULE "secret sources must be owned by root, writable by no one else at every level of the path, " \
                           "reached without symlinks, and a regular file with one link"

static const char *secret_stat_violation(const struct stat *st, bool last) {
        if (S_ISLNK(st->st_mode))
                return "is a symlink";
        if (!last && !S_ISDIR(st->st_mode))
                return "is not a directory";
        if (last && S_ISDIR(st->st_mode))
                return "is a directory";
        if (last && !S_ISREG(st->st_mode))
                return "is not a regular file";
        if (st->st_uid != 0)
                return "is not owned by root";
        if (st->st_mode & (S_IWGRP | S_IWOTH))
                return "is writable by group or others";
        if (last && st->st_nlink != 1)
                return "has more than one link";
        return NULL;
}

/* Opens PATH component by component from "/". Returns an fd of the file, or
 * -EPERM with the offending prefix and reason, or -errno. */
static int secret_walk(const char *path, struct stat *ret_st, char **ret_bad, const char **ret_why) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -EBADF;
        char *p, *next;
        struct stat st;

        if (!copy)
                return -ENOMEM;
        dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fstat(dfd, &st) < 0)
                return negative_errno();
        if ((*ret_why = secret_stat_violation(&st, false)))
                return (*ret_bad = strdup("/")) ? -EPERM : -ENOMEM;
        for (p = copy + 1; p && *p; p = next) {
                bool last;
                int fd;

                next = strchr(p, '/');
                if (next)
                        *next++ = '\0';
                last = !next || !*next;
                /* O_NONBLOCK: a FIFO or a device must not hang the start. */
                fd = openat(dfd, p, last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC
                                         : O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 && errno == ELOOP)
                        fd = openat(dfd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC); /* to say it is a symlink */
                if (fd < 0)
                        return negative_errno();
                closep(&dfd);
                dfd = fd;
                if (fstat(dfd, &st) < 0)
                        return negative_errno();
                if ((*ret_why = secret_stat_violation(&st, last))) {
                        *ret_bad = strndup(path, (size_t) (p - copy) + strlen(p));
                        return *ret_bad ? -EPERM : -ENOMEM;
                }
        }
        (void) fcntl(dfd, F_SETFL, 0); /* clear O_NONBLOCK for the read */
        *ret_st = st;
        return TAKE_FD(dfd);
}

/* Opens and vets the source of one secret. Logs every refusal, naming the
 * secret, the source and the rule. Returns an fd to read from, or -errno. */
static int secret_open_source(const SecretSpec *s, struct stat *ret_st) {
        _cleanup_free_ char *path = NULL, *bad = NULL;
        bool cred = strncmp(s->source, CRED_PREFIX, strlen(CRED_PREFIX)) == 0;
        const char *why = NULL;
        int fd;

        /* Where secrets may come from (below /etc/agents/secrets/, or cred:ID)
         * is the generator's rule (secret_source_check() in the definition's
         * checks); here, at start, the ownership rule holds for whatever the
         * unit names. */
        if (cred) {
                const char *id = s->source + strlen(CRED_PREFIX);
                const char *cd = getenv("CREDENTIALS_DIRECTORY");

                if (!credential_id_is_valid(id))
                        return log_error_errno(-EINVAL, "Secret '%s': '%s' is not a valid credential name, refusing.",
                                               s->name, s->source);
                if (!cd || !path_is_normalized_absolute(cd))
                        return log_error_errno(-ENOENT,
                                               "Secret '%s': source %s is a credential, but this unit was given no credentials "
                                               "($CREDENTIALS_DIRECTORY is not set), refusing.", s->name, s->source);
                if (asprintf(&path, "%s/%s", cd, id) < 0)
                        return log_oom();
        } else if (!path_is_normalized_absolute(s->source))
                return log_error_errno(-EINVAL, "Secret '%s': source '%s' is neither a normalised absolute path nor cred:ID, refusing.",
                                       s->name, s->source);
        else if (!(path = strdup(s->source)))
                return log_oom();

        fd = secret_walk(path, ret_st, &bad, &why);
        if (fd == -EPERM)
                return log_error_errno(fd, "Secret '%s': source %s: %s %s; %s. Refusing.", s->name, s->source, bad, why,
                                       SECRET_SOURCE_RULE);
        if (fd == -ENOENT && cred)
                return log_error_errno(fd, "Secret '%s': unknown credential %s (not passed to this unit), refusing.",
                                       s->name, s->source);
        if (fd == -ENOENT)
                return log_error_errno(fd, "Secret '%s': source %s does not exist, refusing.", s->name, s->source);
        if (fd < 0)
                return log_error_errno(fd, "Secret '%s': cannot open source %s: %m, refusing.", s->name, s->source);
        if ((uint64_t) ret_st->st_size > SECRET_SIZE_MAX) {
                (void) close(fd);
                return log_error_errno(-EFBIG, "Secret '%s': source %s is larger than %u bytes, refusing.",
                                       s->name, s->source, SECRET_SIZE_MAX);
        }
        return fd;
}

/* Copies one vetted source into DFD/NAME, mode 0400, owned by OWNER. The
 * bytes pass through one locked, wiped buffer. Logs. */
static int secret_copy(const SecretSpec *s, int src, const struct stat *st, int dfd, uid_t owner) {
        _cleanup_close_ int out = -EBADF;
        size_t cap, len = 0;
        void *buf;
        int r = 0;

        /* One byte more than the size seen by fstat(): reading that byte means
         * the file changed under us. */
        cap = (size_t) st->st_size + 1;
        buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (buf == MAP_FAILED)
                return log_error_errno(negative_errno(), "Secret '%s': failed to allocate a buffer: %m", s->name);
        (void) madvise(buf, cap, MADV_DONTDUMP);
        if (mlock(buf, cap) < 0) {
                r = log_error_errno(negative_errno(), "Secret '%s': failed to lock the copy buffer in memory: %m", s->name);
                goto finish;
        }

        while (len < cap) {
                ssize_t k = read(src, (char *) buf + len, cap - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        r = log_error_errno(negative_errno(), "Secret '%s': failed to read source %s: %m", s->name, s->source);
                        goto finish;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
        }
        if (len == cap) {
                r = log_error_errno(-EAGAIN, "Secret '%s': source %s grew while it was read, refusing.", s->name, s->source);
                goto finish;
        }

        out = openat(dfd, s->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400);
        if (out < 0) {
                r = log_error_errno(negative_errno(), "Secret '%s': failed to create the staged copy: %m", s->name);
                goto finish;
        }
        for (size_t off = 0; off < len;) {
                ssize_t k = write(out, (char *) buf + off, len - off);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        r = log_error_errno(k < 0 ? negative_errno() : -EIO, "Secret '%s': failed to write the staged copy: %m", s->name);
                        goto finish;
                }
                off += (size_t) k;
        }
        if (fchown(out, owner, owner) < 0 || fchmod(out, 0400) < 0) {
                r = log_error_errno(negative_errno(), "Secret '%s': failed to set owner and mode of the staged copy: %m", s->name);
                goto finish;
        }

finish:
        /* The source's clean page cache is a copy of the secret in RAM:
         * drop it (freed pages are zeroed with init_on_free=1). */
        (void) posix_fadvise(src, 0, 0, POSIX_FADV_DONTNEED);
        explicit_bzero(buf, cap);
        (void) munlock(buf, cap);
        (void) munmap(buf, cap);
        if (r < 0 && out >= 0)
                (void) unlinkat(dfd, s->name, 0);
        return r;
}

static int mount_ramfs(const char *dir) {
        /* 0700 root while we fill it; handed to the agent's uid at the end. */
        return mount_libmount("agentcage-secrets", dir, "ramfs", "nosuid,nodev,noexec,mode=0700", NULL, 0);
}

int secrets_stage(const char *dir, const SecretSpec *secrets, size_t n_secrets, uid_t owner) {
        _cleanup_close_ int dfd = -EBADF;
        int *fds = NULL;
        struct stat *sts = NULL;
        struct statfs sfs;
        int r = 0;

        /* Vet every source before anything is mounted: a refusal leaves nothing
         * behind, and the common mistakes are reported before any work. */
        fds = malloc(sizeof(int) * (n_secrets ? n_secrets : 1));
        sts = malloc(sizeof(struct stat) * (n_secrets ? n_secrets : 1));
        if (!fds || !sts) {
                free(fds);
                free(sts);
                return log_oom();
        }
        for (size_t i = 0; i < n_secrets; i++)
                fds[i] = -EBADF;
        for (size_t i = 0; i < n_secrets; i++) {
                r = secret_open_source(&secrets[i], &sts[i]);
                if (r < 0)
                        goto finish;
                fds[i] = r;
        }

        if (mkdir(dir, 0700) < 0) {
                r = log_error_errno(negative_errno(), "Failed to create %s: %m", dir);
                goto finish;
        }
        r = mount_ramfs(dir);
        if (r < 0) {
                log_error_errno(r, "Failed to mount a ramfs for the secrets at %s: %m", dir);
                goto fail;
        }

        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (dfd < 0) {
                r = log_error_errno(negative_errno(), "Failed to open %s: %m", dir);
                goto fail;
        }
        /* Never write a secret anywhere but into the ramfs we just mounted. */
        if (fstatfs(dfd, &sfs) < 0 || sfs.f_type != (typeof(sfs.f_type)) RAMFS_MAGIC) {
                r = log_error_errno(-EXDEV, "%s is not the ramfs just mounted, refusing to write secrets there.", dir);
                goto fail;
        }

        for (size_t i = 0; i < n_secrets; i++) {
                r = secret_copy(&secrets[i], fds[i], &sts[i], dfd, owner);
                if (r < 0)
                        goto fail;
                log_info("Staged secret '%s' from %s.", secrets[i].name, secrets[i].source);
        }

        if (fchown(dfd, owner, owner) < 0 || fchmod(dfd, 0500) < 0) {
                r = log_error_errno(negative_errno(), "Failed to hand %s to the agent: %m", dir);
                goto fail;
        }
        r = 0;
        goto finish;

fail:
        closep(&dfd);
        dfd = -EBADF;
        (void) secrets_remove(dir);
finish:
        for (size_t i = 0; i < n_secrets; i++)
                closep(&fds[i]);
        free(fds);
        free(sts);
        return r;
}

/* Overwrites every regular file in DFD with zeros: ramfs hands its pages back
 * to the kernel unwiped on unmount, and they would keep the secret until
 * reused. Returns the number of files. */
static int wipe_files(int dfd) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int n = 0, r;
        static const char zeros[4096];

        r = opendir_dup(dfd, &d);
        if (r < 0)
                return r;
        while ((de = readdir(d))) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                fd = openat(dfd, de->d_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                for (off_t off = 0; off < st.st_size;) {
                        ssize_t k = pwrite(fd, zeros, (size_t) MIN((off_t) sizeof zeros, st.st_size - off), off);
                        if (k <= 0)
                                break;
                        off += k;
                }
                n++;
        }
        return n;
}

/* Removes the entries a failed or old staging left in DFD (never recursing:
 * the secrets directory holds plain files only). */
static int remove_files(int dfd) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        int r;

        r = opendir_dup(dfd, &d);
        if (r < 0)
                return r;
        while ((de = readdir_no_dot(d))) {
                if (unlinkat(dfd, de->d_name, 0) < 0 && errno != ENOENT && r == 0)
                        r = negative_errno();
        }
        return r;
}

int secrets_remove(const char *dir) {
        bool did = false;
        int r;

        r = path_is_mount_point(dir);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to check %s: %m", dir);
        if (r > 0) {
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                struct statfs sfs;

                if (dfd >= 0 && fstatfs(dfd, &sfs) >= 0 && sfs.f_type == (typeof(sfs.f_type)) RAMFS_MAGIC) {
                        int n = wipe_files(dfd);
                        if (n > 0)
                                log_info("Wiped %d staged secret file(s) in %s.", n, dir);
                }
                closep(&dfd);
                dfd = -EBADF;
                r = umount_recursive(dir, "secrets");
                if (r < 0)
                        return r;
                did = true;
        }

        {
                _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (dfd >= 0)
                        (void) remove_files(dfd);
        }
        if (rmdir(dir) < 0) {
                if (errno == ENOENT)
                        return did;
                return log_error_errno(negative_errno(), "Failed to remove %s: %m", dir);
        }
        log_debug("Removed %s.", dir);
        return 1;
}
