/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agent-runtime, the helper the generated unit calls (docs/DESIGN.md, "The
 * runtime contract"): a library of lifecycle steps with typed inputs, and
 * thin verbs over them. Each verb takes its own argv (argv[0] is the verb),
 * parses it once into a RuntimeConfig and returns 0 or a negative errno; the
 * steps log their own errors. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "runtime-config.h"

/* Provision: resolve IMAGE, check it, mount it read-only at the agent's
 * root directory (image/provision.c). */
/* On success *ret_exceptions (if not NULL) holds the ImageAllow= paths the
 * image needed (NULL-terminated, NULL if none; strv_free()). */
int runtime_provision(const RuntimeConfig *c, char ***ret_exceptions);
/* Recycle: tear down everything provision and configure made (recycle.c).
 * The user-namespace lease stays the agent's. */
int runtime_recycle(const char *name);
/* Start: provision, configure, write agent.state, become systemd-nspawn
 * (start.c). Returns only on failure. */
int runtime_start(const RuntimeConfig *c);

int verb_start(int argc, char *argv[]);
int verb_provision(int argc, char *argv[]);
int verb_configure(int argc, char *argv[]);
int verb_recycle(int argc, char *argv[]);
int verb_digest(int argc, char *argv[]);

/* Where a bare image name is looked up, in this order ($AGENTCAGE_IMAGE_PATH,
 * a ':'-separated list of absolute directories, replaces it for tests). */
#define IMAGE_SEARCH_PATH_DEFAULT "/var/lib/agents/images:/var/lib/machines"

/* --- tree walking (tree.c) ----------------------------------------------- */

/* Bounds of a walk: an image deeper or bigger than this is refused rather
 * than walked for minutes (or recursed into a stack overflow). */
#define TREE_DEPTH_MAX 128U
#define TREE_ENTRIES_MAX (4U * 1024U * 1024U)

typedef struct TreeEntry {
        const char *path;      /* relative to the root; "." for the root itself */
        const char *name;      /* last component; "." for the root */
        int dir_fd;            /* the directory holding it (the root's own fd for ".") */
        const struct stat *st; /* lstat() of the entry: symlinks are never followed */
        unsigned depth;        /* 0 for the root */
} TreeEntry;

/* Called for every entry; a negative return stops the walk and is returned. */
typedef int (*tree_walk_fn)(const TreeEntry *e, void *userdata);

/* Visits ROOT_FD (a directory) and everything below it in a fixed order: the
 * root, then depth first, the entries of each directory sorted bytewise by
 * name (strcmp). Never follows a symlink (fstatat AT_SYMLINK_NOFOLLOW, openat
 * O_NOFOLLOW) and refuses a directory that changed under it. Returns 0 or
 * -errno (-ELOOP past TREE_DEPTH_MAX, -EFBIG past TREE_ENTRIES_MAX); does not
 * log. */
int tree_walk(int root_fd, tree_walk_fn fn, void *userdata);

/* --- the approved-image policy (image-policy.c) ------------------------- */

typedef struct ImageViolation {
        char *path;         /* absolute inside the image, e.g. "/bin/sh" */
        const char *reason; /* static string */
} ImageViolation;

typedef struct ImagePolicyReport {
        ImageViolation *violations;
        size_t n_violations;
        /* The ImageAllow= paths that lifted a refusal, in walk order, each
         * once; NULL-terminated, or NULL when none was used. This is what
         * goes into AgentStateInfo.image_exceptions. */
        char **exceptions;
        size_t n_exceptions;
} ImagePolicyReport;

void image_policy_report_done(ImagePolicyReport *r);

typedef enum ImagePolicyFlags {
        /* Also refuse files and directories that someone other than root
         * could change: owned by another user, writable by a group other
         * than root's or by everyone. For a tree that is bind mounted, whose
         * inodes stay writable through the source path. */
        IMAGE_POLICY_ROOT_OWNED = 1 << 0,
} ImagePolicyFlags;

/* Scans the tree at ROOT_FD and fills *ret with every violation of the
 * approved-image policy (forbidden programs, setuid/setgid files, file
 * capabilities, device nodes, hard links to files outside the tree (more
 * links than names in it), missing mount points, and with
 * IMAGE_POLICY_ROOT_OWNED what non-root users could change), in walk order.
 * ALLOW (N_ALLOW absolute paths inside the image, from ImageAllow=) lifts
 * the name rule for exactly those paths when their row is an interpreter's;
 * every other rule still applies to them. The paths that were used are in
 * ret->exceptions. An ALLOW entry that image_allow_check() does not pass
 * makes the scan fail with -EPERM. Returns 0 when the scan completed
 * (whether or not it found violations) or -errno; does not log. */
int image_policy_scan(int root_fd, ImagePolicyFlags flags, char *const *allow, size_t n_allow,
                      ImagePolicyReport *ret);

/* Checks that PATH and every directory above it can only be changed by
 * root: owned by uid 0, and writable by no other group or user unless the
 * sticky bit keeps them from renaming what is not theirs. On a violation
 * returns -EPERM and a static reason and the offending path (malloc()ed) in
 * *ret_path. Returns 0, -EPERM or another -errno; does not log. */
int image_path_check_root_owned(const char *path, char **ret_path, const char **ret_reason);

/* --- digests (digest.c) -------------------------------------------------- */

/* The digest of an image file: sha256 of its bytes. */
int image_digest_file_fd(int fd, char ret[static IMAGE_DIGEST_STRING_MAX]);
/* The digest of a tree: sha256 over the canonical serialisation described in
 * digest.c (and docs/DESIGN.md). */
int image_digest_tree_fd(int dir_fd, char ret[static IMAGE_DIGEST_STRING_MAX]);
/* Either of the above, after looking at what PATH is. Does not log. */
int image_digest_path(const char *path, char ret[static IMAGE_DIGEST_STRING_MAX]);
/* Parses "sha256:HEX" (64 hex digits, either case) into the canonical
 * lowercase form. Returns 0 or -EINVAL. */
int image_digest_parse(const char *s, char ret[static IMAGE_DIGEST_STRING_MAX]);
