/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Provision, the first step of an agent's start (docs/DESIGN.md, "The
 * runtime contract"): find the image, mount it read-only at
 * /run/agentcage/NAME/root, check it against the approved-image policy and
 * the digest pin. Runs inside "agent-runtime start", in the unit's mount
 * namespace, where systemd-nspawn then uses the mount as the container's root.
 *
 * IMAGE is either
 *   - an absolute path: a directory tree, or a regular file holding a
 *     squashfs or erofs file system (read-only formats: the kernel's ext4
 *     parser is not put in reach of whoever made an image); or
 *   - a bare name, looked up in /var/lib/agents/images and then in
 *     /var/lib/machines, in each as NAME (a directory), NAME.raw and
 *     NAME.squashfs (image files); the first that exists wins.
 *
 * A tree is bind mounted read-only, nosuid, nodev (not recursively: whatever
 * is mounted below it on the host stays out). An image file is loop mounted
 * read-only, nosuid, nodev; libmount sets up the loop device with autoclear,
 * so unmounting frees it. Either way the mount is made private, so that
 * nothing mounted later on the host propagates into the container's root.
 *
 * Any refusal unmounts again and removes the directories it made: a failed
 * start leaves nothing behind. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "image-ref.h"
#include "agent-limits.h"
#include "log.h"
#include "macro.h"
#include "agent-state.h"
#include "configure.h"
#include "oci.h"
#include "parse-value.h"
#include "runtime.h"


typedef enum ImageKind {
        IMAGE_TREE,
        IMAGE_FILE,
        _IMAGE_KIND_INVALID = -EINVAL,
} ImageKind;

/* Checks what PATH is. Returns 0 and the kind, -ENOENT, or -EMEDIUMTYPE for
 * anything that is neither a directory nor a regular file. */
static int image_kind_of(const char *path, ImageKind *ret) {
        struct stat st;

        if (stat(path, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                *ret = IMAGE_TREE;
        else if (S_ISREG(st.st_mode))
                *ret = IMAGE_FILE;
        else
                return -EMEDIUMTYPE;
        return 0;
}

static int image_resolve(const char *image, char **ret_path, ImageKind *ret_kind) {
        static const struct {
                const char *suffix;
                ImageKind kind;
        } candidates[] = {
                { "",          IMAGE_TREE },
                { ".raw",      IMAGE_FILE },
                { ".squashfs", IMAGE_FILE },
        };
        _cleanup_free_ char *search = NULL, *looked = NULL;
        size_t looked_len = 0;
        FILE *lf;
        ImageKind kind;
        int r;

        /* docker://, oci:, …: pulled, checked and cached by digest (oci.c). */
        if (image_ref_has_transport(image)) {
                r = oci_provision(image, NULL, 0, ret_path); /* the unit only reads the cache */
                if (r >= 0)
                        *ret_kind = IMAGE_FILE;
                return r;
        }

        if (image[0] == '/') {
                r = image_kind_of(image, &kind);
                if (r == -EMEDIUMTYPE)
                        return log_error_errno(r, "Image %s is neither a directory nor a regular file.", image);
                if (r < 0)
                        return log_error_errno(r, "Cannot use image %s: %m", image);
                *ret_path = strdup(image);
                if (!*ret_path)
                        return log_oom();
                *ret_kind = kind;
                return 0;
        }

        if (!image_name_is_valid(image))
                return log_error_errno(-EINVAL, "Image '%s' is neither an absolute path nor a bare image name ([A-Za-z0-9_.-], not starting with '.' or '-').", image);

        {
                const char *e = getenv("AGENTCAGE_IMAGE_PATH");
                search = strdup(e && *e ? e : IMAGE_SEARCH_PATH_DEFAULT);
                if (!search)
                        return log_oom();
        }

        lf = open_memstream(&looked, &looked_len);
        if (!lf)
                return log_oom();

        for (char *save = NULL, *dir = strtok_r(search, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                if (dir[0] != '/')
                        continue; /* relative entries would depend on the cwd */

                for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                        _cleanup_free_ char *p = NULL;

                        if (asprintf(&p, "%s/%s%s", dir, image, candidates[i].suffix) < 0) {
                                fclose(lf);
                                return log_oom();
                        }
                        r = image_kind_of(p, &kind);
                        if (r == -ENOENT) {
                                fprintf(lf, "\n  %s", p);
                                continue;
                        }
                        if (r == 0 && kind != candidates[i].kind) {
                                fprintf(lf, "\n  %s (exists, but is not a %s)", p,
                                        candidates[i].kind == IMAGE_TREE ? "directory" : "regular file");
                                continue;
                        }
                        if (r < 0) {
                                fclose(lf);
                                return log_error_errno(r, "Cannot use image %s: %m", p);
                        }
                        fclose(lf);
                        *ret_path = TAKE_PTR(p);
                        *ret_kind = kind;
                        return 0;
                }
        }

        if (fclose(lf) != 0)
                return log_oom();
        return log_error_errno(-ENOENT, "Image '%s' not found. Looked for:%s", image, strempty(looked));
}

/* What an image file holds, from its superblock: only read-only formats are
 * mounted. Returns 0 and the fstype, or -EMEDIUMTYPE and what it is. */
static int image_file_fstype(int fd, const char **ret, const char **ret_what) {
        unsigned char sb[2048] = {};
        ssize_t n = pread(fd, sb, sizeof sb, 0);

        if (n < 0)
                return negative_errno();
        if (n >= 4 && memcmp(sb, "hsqs", 4) == 0) {
                *ret = "squashfs";
                return 0;
        }
        if (n >= 1028 && sb[1024] == 0xe2 && sb[1025] == 0xe1 && sb[1026] == 0xf5 && sb[1027] == 0xe0) {
                *ret = "erofs";
                return 0;
        }
        *ret_what = n >= 1082 && sb[1080] == 0x53 && sb[1081] == 0xef ? "an ext2/3/4 file system" :
                    "not a squashfs or erofs file system";
        return -EMEDIUMTYPE;
}

static int mount_image(const char *source, const char *fstype, const char *target) {
        char msg[512];
        int r;

        /* libmount turns "bind,ro" into the bind mount plus the read-only
         * remount the kernel needs for it. A tree is not bound recursively:
         * whatever is mounted below it on the host stays out. */
        if (!fstype)
                r = mount_libmount(source, target, NULL, "bind,ro,nosuid,nodev,private", msg, sizeof msg);
        else
                r = mount_libmount(source, target, fstype, "loop,ro,nosuid,nodev,private", msg, sizeof msg);
        if (r < 0)
                return log_error_errno(r, "Failed to mount image %s at %s: %s", source, target,
                                       *msg ? msg : "unknown error");
        return 0;
}

static int log_policy_report(const char *image, const ImagePolicyReport *rep) {
        log_error("Image %s violates the approved-image policy:", image);
        for (size_t i = 0; i < rep->n_violations; i++)
                log_error("  %s: %s", rep->violations[i].path, rep->violations[i].reason);
        return log_error_errno(-EPERM, "Refusing image %s: %zu policy violation%s.", image,
                               rep->n_violations, rep->n_violations == 1 ? "" : "s");
}

static int check_digest(const char *image, const char *want, const char *got) {
        if (streq(want, got))
                return 0;
        return log_error_errno(-EBADMSG, "Image %s does not match its pinned digest:\n"
                               "  expected (ImageDigest=) %s\n"
                               "  actual                  %s",
                               image, want, got);
}

/* Checks the image file or tree at IMAGE before anything is mounted: who
 * can change it, what format it is, and for a file the digest pin. */
static int check_before_mount(const RuntimeConfig *c, const char *image, ImageKind kind, const char **ret_fstype) {
        _cleanup_free_ char *bad = NULL;
        _cleanup_close_ int fd = -EBADF;
        char got[IMAGE_DIGEST_STRING_MAX];
        const char *why = NULL;
        int r;

        /* Checking an image is worth nothing if someone else can change it
         * afterwards: a bind mount shares its inodes with the source, and a
         * loop device reads the file as it is now. Only root may be able to
         * change the image or rename anything on the way to it. */
        r = image_path_check_root_owned(image, &bad, &why);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing image %s: %s is %s.", image, bad, why);
        if (r < 0)
                return log_error_errno(r, "Failed to check who can change %s: %m", image);
        *ret_fstype = NULL;
        if (kind == IMAGE_TREE)
                return 0;

        fd = open(image, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open image %s: %m", image);
        r = image_file_fstype(fd, ret_fstype, &why);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(r, "Refusing image %s: it is %s; image files must be squashfs or erofs "
                                       "(read-only formats), or use a directory tree.", image, why);
        if (r < 0)
                return log_error_errno(r, "Failed to read image %s: %m", image);
        /* An image file is checked before anything is made: a wrong file
         * then costs nothing to refuse. */
        if (!*c->image_digest)
                return 0;
        r = image_digest_file_fd(fd, got);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the digest of %s: %m", image);
        return check_digest(image, c->image_digest, got);
}

/* One line per start: which exceptions this image needed, and a warning for
 * each ImageAllow= path that lifted nothing (a stale definition). */
static void log_exceptions(const RuntimeConfig *c, const char *image, const ImagePolicyReport *rep) {
        _cleanup_free_ char *list = NULL;
        size_t size = 0;
        FILE *f;

        for (size_t i = 0; i < c->n_image_allow; i++) {
                bool used = false;
                for (size_t j = 0; j < rep->n_exceptions; j++)
                        used = used || streq(c->image_allow[i], rep->exceptions[j]);
                if (!used)
                        log_warning("ImageAllow=%s: image %s holds no refused program there, ignoring.",
                                    c->image_allow[i], image);
        }
        if (rep->n_exceptions == 0)
                return;
        f = open_memstream(&list, &size);
        if (!f) {
                log_oom();
                return;
        }
        for (size_t j = 0; j < rep->n_exceptions; j++)
                fprintf(f, "%s%s", j > 0 ? " " : "", rep->exceptions[j]);
        if (fclose(f) != 0) {
                log_oom();
                return;
        }
        log_notice("Image %s: approved-image policy exceptions used (ImageAllow=): %s", image, list);
}

/* Checks what is mounted at MNT: the policy, and for a tree the digest pin.
 * From here on everything is read from the mount, which is what the
 * container will see, and which nobody can change under us. */
static int check_mounted(const RuntimeConfig *c, const char *image, ImageKind kind, const char *mnt,
                         char ***ret_exceptions) {
        _cleanup_(image_policy_report_done) ImagePolicyReport rep = {};
        _cleanup_close_ int root_fd = -EBADF;
        char got[IMAGE_DIGEST_STRING_MAX];
        int r;

        root_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", mnt);
        /* Inside an image file ownership is just data: the loop mount is
         * read-only and the file itself was checked before. */
        r = image_policy_scan(root_fd, kind == IMAGE_TREE ? IMAGE_POLICY_ROOT_OWNED : 0, c->image_allow,
                              c->n_image_allow, &rep);
        if (r == -EPERM)
                return log_error_errno(r, "Refusing image %s: an ImageAllow= path may not be excepted.", image);
        if (r < 0)
                return log_error_errno(r, "Failed to scan image %s: %m", image);
        if (rep.n_violations > 0)
                return log_policy_report(image, &rep);
        if (kind == IMAGE_TREE && *c->image_digest) {
                r = image_digest_tree_fd(root_fd, got);
                if (r < 0)
                        return log_error_errno(r, "Failed to compute the digest of %s: %m", image);
                r = check_digest(image, c->image_digest, got);
                if (r < 0)
                        return r;
        }
        log_exceptions(c, image, &rep);
        if (ret_exceptions) {
                *ret_exceptions = TAKE_PTR(rep.exceptions);
                rep.n_exceptions = 0;
        }
        return 0;
}

int runtime_provision(const RuntimeConfig *c, char ***ret_exceptions) {
        _cleanup_free_ char *image = NULL, *agent_dir = NULL, *mnt = NULL;
        const char *fstype = NULL;
        ImageKind kind = _IMAGE_KIND_INVALID;
        int r;

        r = image_resolve(c->image, &image, &kind);
        if (r < 0)
                return r;
        r = check_before_mount(c, image, kind, &fstype);
        if (r < 0)
                return r;

        if (agent_state_path(c->name, NULL, &agent_dir) < 0 ||
            agent_state_path(c->name, AGENT_STATE_ROOT_DIR, &mnt) < 0)
                return log_oom();
        r = mkdir_no_symlink(agent_state_root(), 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", agent_state_root());
        r = mkdir_no_symlink(agent_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", agent_dir);
        r = mkdir_no_symlink(mnt, 0755);
        if (r < 0) {
                log_error_errno(r, "Failed to create %s: %m", mnt);
                goto fail;
        }

        r = umount_recursive(mnt, "previous agent image");
        if (r >= 0)
                r = mount_image(image, fstype, mnt);
        if (r < 0)
                goto fail;
        r = check_mounted(c, image, kind, mnt, ret_exceptions);
        if (r < 0) {
                (void) umount_recursive(mnt, "refused agent image");
                goto fail;
        }
        log_info("Provisioned %s from %s%s%s.", mnt, image, *c->image_digest ? ", digest " : "", c->image_digest);
        return 0;

fail:
        /* Only what is empty goes; a leftover from an earlier run that holds
         * something is recycle's business. */
        if (rmdir(mnt) < 0 && errno != ENOENT)
                log_warning("Failed to remove %s, ignoring: %m", mnt);
        (void) rmdir(agent_dir);
        return r;
}

/* agent-runtime provision: the same step on its own, for debugging. */
int verb_provision(int argc, char *argv[]) {
        _cleanup_(runtime_config_done) RuntimeConfig c = {};
        int r;

        r = runtime_config_parse_argv(RUNTIME_VERB_PROVISION, argc, argv, &c);
        if (r <= 0)
                return r;
        return runtime_provision(&c, NULL);
}
