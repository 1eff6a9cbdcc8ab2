/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The approved-image policy. An agent image is meant to hold the agent and
 * its libraries, nothing an attacker who takes over the agent could use to
 * widen the foothold: no shell to script with, no network tools, no package
 * manager to pull more in, no compiler or interpreter to build more, nothing
 * setuid/setgid or carrying file capabilities, no device nodes, no hard
 * links to files outside the tree. The image is
 * mounted nosuid,nodev and the agent runs with no-new-privileges and an empty
 * bounding set, so most of this is defence in depth; the point of refusing
 * such an image outright is that it was built wrongly and whoever built it
 * should know.
 *
 * Programs are matched by file name anywhere in the tree, against the one
 * table in src/basic/image-programs.c (a renamed copy of a shell is not
 * caught; that is what the seccomp allow-list and AppArmor are for). Regular
 * files and symlinks count: /bin/sh -> dash is refused for its name even
 * though the link itself is harmless. Directories do not, so /usr/lib/node or
 * /usr/lib/python3 are fine.
 *
 * The one way around the table: a definition's ImageAllow= names the exact
 * path of an interpreter (an exceptable row). That lifts the name rule for
 * that path and nothing else: the same file is still refused if it is
 * setuid, setgid, carries capabilities or could be changed by someone other
 * than root, and the exceptions that were used are reported so that every
 * start can say which ones it relied on. */

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "agent-limits.h"
#include "image-programs.h"
#include "macro.h"
#include "runtime.h"

/* Mount points systemd-nspawn 252 needs in a root that is already read-only
 * (our bind or loop mount) when run with the generated unit's options,
 * measured by removing one at a time: /usr (else "doesn't look like it has
 * an OS tree"), /dev /proc /run /sys (its API file systems; /run also holds
 * the --bind-ro= targets /run/secrets and those under /run/agentcage, which nspawn
 * creates in its own tmpfs), /tmp (the --tmpfs= target) and /workspace (the
 * --bind= target). Without them it fails late, with a message about a mount
 * rather than the image. /etc is not needed: nspawn notes that it cannot
 * resolve it and goes on. */
static const char *const required_dirs[] = {
        "dev", "proc", "run", "sys", "tmp", "usr", "workspace",
};

void image_policy_report_done(ImagePolicyReport *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_violations; i++)
                free(r->violations[i].path);
        free(r->violations);
        for (size_t i = 0; i < r->n_exceptions; i++)
                free(r->exceptions[i]);
        free(r->exceptions);
        *r = (ImagePolicyReport) {};
}

static int report_add(ImagePolicyReport *r, const char *relpath, const char *reason) {
        ImageViolation *v;
        char *p;

        if (asprintf(&p, "/%s", streq(relpath, ".") ? "" : relpath) < 0)
                return -ENOMEM;
        v = reallocarray(r->violations, r->n_violations + 1, sizeof(ImageViolation));
        if (!v) {
                free(p);
                return -ENOMEM;
        }
        r->violations = v;
        r->violations[r->n_violations++] = (ImageViolation) { .path = p, .reason = reason };
        return 0;
}

/* Whether the regular file NAME in DIR_FD carries a security.capability
 * xattr. There is no *at() variant that leaves the last component alone, so
 * go through the directory's /proc/self/fd entry. Returns 1, 0 or -errno. */
static int has_file_caps(int dir_fd, const char *name) {
        char p[64 + NAME_MAX];

        if (snprintf(p, sizeof p, "/proc/self/fd/%d/%s", dir_fd, name) >= (int) sizeof p)
                return -ENAMETOOLONG;
        if (lgetxattr(p, "security.capability", NULL, 0) >= 0)
                return 1;
        if (errno == ENODATA || errno == ENOTSUP)
                return 0;
        return negative_errno();
}

/* A file with more than one link, as met in the walk. */
typedef struct LinkedInode {
        dev_t dev;
        ino_t ino;
        nlink_t nlink, seen;
        char *path; /* the first name met */
} LinkedInode;

typedef struct PolicyWalk {
        ImagePolicyReport *report;
        ImagePolicyFlags flags;
        LinkedInode *linked;
        size_t n_linked;
        char *const *allow;
        size_t n_allow;
} PolicyWalk;

static void policy_walk_done(PolicyWalk *w) {
        for (size_t i = 0; i < w->n_linked; i++)
                free(w->linked[i].path);
        free(w->linked);
}

/* Counts the names of every multiply linked file; the check comes after the
 * walk (link_violations). */
static int note_link(PolicyWalk *w, const TreeEntry *e) {
        LinkedInode *n;

        for (size_t i = 0; i < w->n_linked; i++)
                if (w->linked[i].dev == e->st->st_dev && w->linked[i].ino == e->st->st_ino) {
                        w->linked[i].seen++;
                        return 0;
                }
        n = reallocarray(w->linked, w->n_linked + 1, sizeof(LinkedInode));
        if (!n)
                return -ENOMEM;
        w->linked = n;
        n[w->n_linked] = (LinkedInode) { e->st->st_dev, e->st->st_ino, e->st->st_nlink, 1, strdup(e->path) };
        if (!n[w->n_linked].path)
                return -ENOMEM;
        w->n_linked++;
        return 0;
}

/* A file with more links than names in the tree is also reachable from
 * outside it: whoever holds the other name can change what was checked (a
 * bind-mounted tree shares its inodes), or it is a host file pulled in. */
static int link_violations(PolicyWalk *w) {
        for (size_t i = 0; i < w->n_linked; i++)
                if (w->linked[i].seen < w->linked[i].nlink) {
                        int k = report_add(w->report, w->linked[i].path,
                                           "a hard link to a file outside the image");
                        if (k < 0)
                                return k;
                }
        return 0;
}

/* Records ABS (an ImageAllow= path) as used. The list stays NULL-terminated. */
static int exception_add(ImagePolicyReport *r, const char *abs) {
        char **v, *p;

        p = strdup(abs);
        if (!p)
                return -ENOMEM;
        v = reallocarray(r->exceptions, r->n_exceptions + 2, sizeof(char *));
        if (!v) {
                free(p);
                return -ENOMEM;
        }
        r->exceptions = v;
        r->exceptions[r->n_exceptions++] = p;
        r->exceptions[r->n_exceptions] = NULL;
        return 0;
}

/* Whether the regular file NAME in DIR_FD starts like an ELF program.
 * Returns 1, 0 or -errno. */
static int is_elf(int dir_fd, const char *name) {
        _cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        char magic[4];

        if (fd < 0)
                return negative_errno();
        return read(fd, magic, sizeof magic) == (ssize_t) sizeof magic && memcmp(magic, "\x7f" "ELF", 4) == 0;
}

/* The name rule for one regular file or symlink: refused, excepted by
 * ImageAllow= (an interpreter row and the exact path), or not concerned. An
 * excepted regular file must be a compiled program: an "interpreter" that is
 * a script would run whatever its #! line names. (A symlink is excepted for
 * its name; what it points at is checked where that lies.) */
static int check_program_name(PolicyWalk *w, const TreeEntry *e) {
        const ImageProgram *p = image_program_match(e->name);
        char abs[IMAGE_PATH_MAX + 2];
        int k;

        if (!p)
                return 0;
        if (image_program_class_exceptable(p->class) &&
            snprintf(abs, sizeof abs, "/%s", e->path) < (int) sizeof abs)
                for (size_t i = 0; i < w->n_allow; i++) {
                        if (!streq(w->allow[i], abs))
                                continue;
                        if (S_ISREG(e->st->st_mode)) {
                                k = is_elf(e->dir_fd, e->name);
                                if (k < 0)
                                        return k;
                                if (k == 0)
                                        return report_add(w->report, e->path,
                                                          "allowed with ImageAllow= but not an ELF program (an interpreter is compiled, not a script)");
                        }
                        return exception_add(w->report, abs);
                }
        return report_add(w->report, e->path, p->reason);
}

/* Whether a non-root user could change what ST describes (its content, or
 * for a directory which names it holds). NULL if not, else why. */
static const char *writable_by_others(const struct stat *st) {
        if (st->st_uid != 0)
                return "owned by a user other than root, who could change it after the check";
        if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
                return "writable by a group other than root's, which could change it after the check";
        if ((st->st_mode & S_IWOTH) && !(S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX)))
                return "writable by every user, who could change it after the check";
        return NULL;
}

static int policy_visit(const TreeEntry *e, void *userdata) {
        PolicyWalk *w = userdata;
        ImagePolicyReport *r = w->report;
        mode_t m = e->st->st_mode;
        int k;

        /* A symlink's own owner and mode grant nothing; what it names is
         * checked where it lies. */
        if ((w->flags & IMAGE_POLICY_ROOT_OWNED) && !S_ISLNK(m)) {
                const char *why = writable_by_others(e->st);
                if (why) {
                        k = report_add(r, e->path, why);
                        if (k < 0)
                                return k;
                }
        }

        if (S_ISREG(m) || S_ISLNK(m)) {
                k = check_program_name(w, e);
                if (k < 0)
                        return k;
        }

        if (S_ISREG(m)) {
                /* Directories may carry setgid for group inheritance; that
                 * grants nothing, so only files count. */
                if (m & S_ISUID) {
                        k = report_add(r, e->path, "a setuid file");
                        if (k < 0)
                                return k;
                }
                if (m & S_ISGID) {
                        k = report_add(r, e->path, "a setgid file");
                        if (k < 0)
                                return k;
                }
                k = has_file_caps(e->dir_fd, e->name);
                if (k < 0)
                        return k;
                if (k > 0) {
                        k = report_add(r, e->path, "a file with capabilities (security.capability)");
                        if (k < 0)
                                return k;
                }
        }

        if (S_ISCHR(m) || S_ISBLK(m)) {
                k = report_add(r, e->path, S_ISCHR(m) ? "a character device node" : "a block device node");
                if (k < 0)
                        return k;
        }

        if (!S_ISDIR(m) && e->st->st_nlink > 1)
                return note_link(w, e);
        return 0;
}

int image_policy_scan(int root_fd, ImagePolicyFlags flags, char *const *allow, size_t n_allow,
                      ImagePolicyReport *ret) {
        _cleanup_(image_policy_report_done) ImagePolicyReport r = {};
        _cleanup_(policy_walk_done) PolicyWalk w = { .report = &r, .flags = flags, .allow = allow, .n_allow = n_allow };
        int k;

        if (n_allow > 0 && !allow)
                return -EINVAL;
        /* The caller validated them; the scan is the last place that can
         * still refuse an exception the table does not grant. */
        for (size_t i = 0; i < n_allow; i++)
                if (image_allow_check(allow[i], NULL) != IMAGE_ALLOW_OK)
                        return -EPERM;

        k = tree_walk(root_fd, policy_visit, &w);
        if (k >= 0)
                k = link_violations(&w);
        if (k < 0)
                return k;

        for (size_t i = 0; i < ELEMENTSOF(required_dirs); i++) {
                struct stat st;

                if (fstatat(root_fd, required_dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        if (errno != ENOENT)
                                return negative_errno();
                        k = report_add(&r, required_dirs[i], "a missing mount point (must be a directory)");
                } else if (!S_ISDIR(st.st_mode))
                        /* A symlink here would let the image steer where nspawn
                         * mounts; only a real directory will do. */
                        k = report_add(&r, required_dirs[i], "not a directory (a mount point must be one)");
                else
                        continue;
                if (k < 0)
                        return k;
        }

        *ret = r;
        r = (ImagePolicyReport) {};
        return 0;
}

int image_path_check_root_owned(const char *path, char **ret_path, const char **ret_reason) {
        _cleanup_free_ char *p = NULL;
        struct stat st;
        char *slash;

        /* The real path: a symlink on the way could be swapped too, and its
         * target is what has to be safe. */
        p = realpath(path, NULL);
        if (!p)
                return negative_errno();

        for (;;) {
                const char *why;

                if (lstat(p, &st) < 0)
                        return negative_errno();
                why = writable_by_others(&st);
                if (why) {
                        *ret_path = TAKE_PTR(p);
                        *ret_reason = why;
                        return -EPERM;
                }
                if (streq(p, "/"))
                        return 0;
                slash = strrchr(p, '/');
                if (slash == p)
                        slash[1] = '\0'; /* "/usr" -> "/" */
                else
                        *slash = '\0';
        }
}
