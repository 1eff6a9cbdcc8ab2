/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent-runtime provision --name=NAME --image=IMAGE [--image-digest=sha256:HEX]
 *                         [--image-allow=PATH]…
 *
 * The first step of an agent's start (docs/DESIGN.md, "The runtime
 * contract"): find the image, mount it read-only at /run/agentcage/NAME/root,
 * check it against the approved-image policy and the digest pin. Runs as
 * root in the host's mount namespace ('+' in ExecStartPre=), so the mount is
 * the one systemd-nspawn later uses as the container's root.
 *
 * IMAGE is either
 *   - an absolute path: a directory tree, or a regular file holding a
 *     squashfs, erofs or ext4 file system; or
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
 * --image-allow= (ImageAllow= of the definition) names an interpreter inside
 * the image that the policy accepts although its table refuses the name;
 * the exceptions that were used are logged in one line and handed to the
 * caller (agent.state records them).
 *
 * Any refusal unmounts again and removes the directories it made: a failed
 * start leaves nothing behind. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libmount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "agent-limits.h"
#include "image-programs.h"
#include "log.h"
#include "macro.h"
#include "runtime.h"


typedef enum ImageKind {
        IMAGE_TREE,
        IMAGE_FILE,
        _IMAGE_KIND_INVALID = -EINVAL,
} ImageKind;

typedef struct ProvisionArgs {
        const char *name;
        const char *image;
        char digest[IMAGE_DIGEST_STRING_MAX];
        bool have_digest;
        char *allow[IMAGE_ALLOW_MAX]; /* point into argv */
        size_t n_allow;
} ProvisionArgs;

static void mnt_free_contextp(struct libmnt_context **c) {
        mnt_free_context(*c);
}
#define _cleanup_mnt_context_ _cleanup_(mnt_free_contextp)

/* [a-z0-9][a-z0-9-]{0,62}, not ending in '-': the name becomes a unit
 * instance, a machine name, a directory and part of a dm-crypt mapping name,
 * and must mean the same thing in all of them. */
static bool provision_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 63 || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
                if (!alnum && !(i > 0 && c == '-'))
                        return false;
        }
        return true;
}

/* A bare image name: a file name, no path, nothing hidden or option-like. */
static bool image_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > IMAGE_NAME_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
        }
        return true;
}

static const char *state_root(void) {
        const char *e = getenv("AGENTCAGE_RUNTIME_DIR");

        /* Only a test moves this; anything but a plain absolute path is a
         * mistake we must not mount things under. */
        if (!e || e[0] != '/' || strstr(e, "/../") || strlen(e) > 512)
                return AGENT_RUNTIME_ROOT_DEFAULT;
        return e;
}

static int parse_argv(int argc, char *argv[], ProvisionArgs *a) {
        enum { ARG_NAME = 0x100, ARG_IMAGE, ARG_IMAGE_DIGEST, ARG_IMAGE_ALLOW };
        static const struct option options[] = {
                { "help",         no_argument,       NULL, 'h'              },
                { "name",         required_argument, NULL, ARG_NAME         },
                { "image",        required_argument, NULL, ARG_IMAGE        },
                { "image-digest", required_argument, NULL, ARG_IMAGE_DIGEST },
                { "image-allow",  required_argument, NULL, ARG_IMAGE_ALLOW  },
                {}
        };
        int c;

        /* Callers (and the tests) may run several verbs in one process. */
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {

                case 'h':
                        printf("agent-runtime provision --name=NAME --image=IMAGE [--image-digest=sha256:HEX]\n"
                               "                        [--image-allow=PATH]…\n\n"
                               "Mounts IMAGE read-only at %s/NAME/root after checking it against\n"
                               "the approved-image policy (with the interpreters --image-allow= names as\n"
                               "exceptions) and, if given, the digest pin.\n",
                               AGENT_RUNTIME_ROOT_DEFAULT);
                        return 0;

                case ARG_NAME:
                        if (a->name)
                                return log_error_errno(-EINVAL, "--name= given twice.");
                        if (!provision_name_is_valid(optarg))
                                return log_error_errno(-EINVAL, "Invalid agent name '%s': expected [a-z0-9] then up to 62 of [a-z0-9-], not ending in '-'.", optarg);
                        a->name = optarg;
                        break;

                case ARG_IMAGE:
                        if (a->image)
                                return log_error_errno(-EINVAL, "--image= given twice.");
                        if (optarg[0] == '\0')
                                return log_error_errno(-EINVAL, "--image= must not be empty.");
                        a->image = optarg;
                        break;

                case ARG_IMAGE_DIGEST:
                        if (a->have_digest)
                                return log_error_errno(-EINVAL, "--image-digest= given twice.");
                        if (image_digest_parse(optarg, a->digest) < 0)
                                return log_error_errno(-EINVAL, "Invalid --image-digest=%s: expected sha256: and 64 hex digits.", optarg);
                        a->have_digest = true;
                        break;

                case ARG_IMAGE_ALLOW: {
                        ImageAllowVerdict v = image_allow_check(optarg, NULL);

                        /* Checked again: the unit may have been edited. */
                        if (v != IMAGE_ALLOW_OK)
                                return log_error_errno(-EPERM, "--image-allow=%s: %s.", optarg,
                                                       image_allow_verdict_to_string(v));
                        for (size_t i = 0; i < a->n_allow; i++)
                                if (streq(a->allow[i], optarg))
                                        return log_error_errno(-EINVAL, "--image-allow=%s given twice.", optarg);
                        if (a->n_allow >= IMAGE_ALLOW_MAX)
                                return log_error_errno(-E2BIG, "More than %d --image-allow= paths.", IMAGE_ALLOW_MAX);
                        a->allow[a->n_allow++] = optarg;
                        break;
                }

                case '?':
                        if (optopt != 0)
                                return log_error_errno(-EINVAL, "Option -%c is unknown or lacks its argument.", optopt);
                        return log_error_errno(-EINVAL, "Unknown option or missing argument: %s", argv[optind - 1]);

                default:
                        return log_error_errno(-EINVAL, "Unexpected option code %d.", c);
                }

        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'.", argv[optind]);
        if (!a->name)
                return log_error_errno(-EINVAL, "--name= is required.");
        if (!a->image)
                return log_error_errno(-EINVAL, "--image= is required.");
        return 1;
}

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

/* 1 if PATH is the root of a mount, 0 if not, -errno. */
static int is_mount_point(const char *path) {
        struct statx sx = {};

        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) < 0)
                return negative_errno();
        if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
                return -EOPNOTSUPP;
        return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/* Turns libmount's way of failing into one -errno and a message. */
static int mnt_context_error(struct libmnt_context *cxt, int r, char *buf, size_t size) {
        int e = 0;

        if (mnt_context_syscall_called(cxt))
                e = mnt_context_get_syscall_errno(cxt);
        (void) mnt_context_get_excode(cxt, r, buf, size);
        if (e > 0)
                return -e;
        if (r < 0)
                return r;
        return r > 0 ? -r : -EIO;
}

static int umount_all(const char *target) {
        int r;

        /* Stacked mounts (a restart after an unclean stop) come off one by
         * one; bounded so a strange state cannot loop forever. */
        for (unsigned i = 0; i < 16; i++) {
                _cleanup_mnt_context_ struct libmnt_context *cxt = NULL;
                char msg[512] = "";

                r = is_mount_point(target);
                if (r == -ENOENT || r == 0)
                        return 0;
                if (r < 0)
                        return log_error_errno(r, "Failed to check whether %s is a mount point: %m", target);

                cxt = mnt_new_context();
                if (!cxt)
                        return log_oom();
                (void) mnt_context_disable_helpers(cxt, 1);
                (void) mnt_context_disable_mtab(cxt, 1);
                r = mnt_context_set_target(cxt, target);
                if (r >= 0)
                        r = mnt_context_umount(cxt);
                if (r != 0) {
                        r = mnt_context_error(cxt, r, msg, sizeof msg);
                        if (r != -EBUSY)
                                return log_error_errno(r, "Failed to unmount %s: %s", target, msg);
                        /* Something still holds the old root: take it out of
                         * the tree; the kernel frees it with its last user. */
                        log_warning("%s is busy, detaching it lazily.", target);
                        if (umount2(target, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
                                return log_error_errno(negative_errno(), "Failed to detach %s: %m", target);
                }
                log_debug("Unmounted %s.", target);
        }
        return log_error_errno(-ELOOP, "Too many mounts stacked on %s.", target);
}

static int mount_image(const char *source, ImageKind kind, const char *target) {
        _cleanup_mnt_context_ struct libmnt_context *cxt = NULL;
        char msg[512] = "";
        int r;

        cxt = mnt_new_context();
        if (!cxt)
                return log_oom();

        /* No /sbin/mount.* helpers, no fstab, no utab: exactly this mount. */
        (void) mnt_context_disable_helpers(cxt, 1);
        (void) mnt_context_disable_mtab(cxt, 1);
        (void) mnt_context_set_optsmode(cxt, MNT_OMODE_NOTAB);

        r = mnt_context_set_source(cxt, source);
        if (r >= 0)
                r = mnt_context_set_target(cxt, target);
        if (r >= 0) {
                if (kind == IMAGE_TREE)
                        /* libmount turns "bind,ro" into the bind mount plus
                         * the read-only remount the kernel needs for it. */
                        r = mnt_context_set_options(cxt, "bind,ro,nosuid,nodev,private");
                else {
                        r = mnt_context_set_options(cxt, "loop,ro,nosuid,nodev,private");
                        /* Only file systems meant for images; the kernel is
                         * not asked to parse anything else from a file. */
                        if (r >= 0)
                                r = mnt_context_set_fstype(cxt, "squashfs,erofs,ext4");
                }
        }
        if (r < 0)
                return log_error_errno(r, "Failed to prepare the mount of %s: %m", source);

        r = mnt_context_mount(cxt);
        if (r != 0 || mnt_context_get_status(cxt) != 1) {
                r = mnt_context_error(cxt, r, msg, sizeof msg);
                return log_error_errno(r, "Failed to mount image %s at %s: %s", source, target,
                                       *msg ? msg : "unknown error");
        }
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

/* The digest pin of an image file, checked before anything is made. Logs. */
static int check_file_digest(const char *image, const char *want) {
        _cleanup_close_ int fd = open(image, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        char got[IMAGE_DIGEST_STRING_MAX];
        int r;

        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open image %s: %m", image);
        r = image_digest_file_fd(fd, got);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the digest of %s: %m", image);
        return check_digest(image, want, got);
}

/* Checking an image is worth nothing if someone else can change it
 * afterwards: a bind mount shares its inodes with the source, and a loop
 * device reads the file as it is now. Only root may be able to change the
 * image or rename anything on the way to it. Logs. */
static int check_root_owned(const char *image) {
        _cleanup_free_ char *bad = NULL;
        const char *why = NULL;
        int r = image_path_check_root_owned(image, &bad, &why);

        if (r == -EPERM)
                return log_error_errno(r, "Refusing image %s: %s is %s.", image, bad, why);
        if (r < 0)
                return log_error_errno(r, "Failed to check who can change %s: %m", image);
        return 0;
}

/* One line per start: which exceptions this image needed, and a warning for
 * each ImageAllow= path that lifted nothing (a stale definition). */
static void log_exceptions(const char *image, const ProvisionArgs *a, const ImagePolicyReport *rep) {
        _cleanup_free_ char *list = NULL;
        size_t size = 0;
        FILE *f;

        for (size_t i = 0; i < a->n_allow; i++) {
                bool used = false;
                for (size_t j = 0; j < rep->n_exceptions; j++)
                        used = used || streq(a->allow[i], rep->exceptions[j]);
                if (!used)
                        log_warning("ImageAllow=%s: image %s holds no refused program there, ignoring.", a->allow[i], image);
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

int provision_image(int argc, char *argv[], char ***ret_exceptions) {
        ProvisionArgs a = {};
        _cleanup_free_ char *image = NULL, *agent_dir = NULL, *mnt = NULL;
        _cleanup_close_ int root_fd = -EBADF;
        _cleanup_(image_policy_report_done) ImagePolicyReport rep = {};
        char got[IMAGE_DIGEST_STRING_MAX];
        const char *root;
        ImageKind kind = _IMAGE_KIND_INVALID;
        bool mounted = false;
        int r;

        r = parse_argv(argc, argv, &a);
        if (r <= 0)
                return r;

        r = image_resolve(a.image, &image, &kind);
        if (r < 0)
                return r;

        r = check_root_owned(image);
        if (r < 0)
                return r;

        /* An image file is checked before anything is made: a wrong file
         * then costs nothing to refuse. */
        if (kind == IMAGE_FILE && a.have_digest) {
                r = check_file_digest(image, a.digest);
                if (r < 0)
                        return r;
        }

        root = state_root();
        if (asprintf(&agent_dir, "%s/%s", root, a.name) < 0 ||
            asprintf(&mnt, "%s/%s/root", root, a.name) < 0)
                return log_oom();

        r = mkdir_no_symlink(root, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", root);
        r = mkdir_no_symlink(agent_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", agent_dir);
        r = mkdir_no_symlink(mnt, 0755);
        if (r < 0) {
                log_error_errno(r, "Failed to create %s: %m", mnt);
                goto fail;
        }

        r = umount_all(mnt);
        if (r < 0)
                goto fail;

        r = mount_image(image, kind, mnt);
        if (r < 0)
                goto fail;
        mounted = true;

        /* From here on everything is read from the mount, which is what the
         * container will see, and which nobody can change under us. */
        root_fd = open(mnt, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (root_fd < 0) {
                r = log_error_errno(negative_errno(), "Failed to open %s: %m", mnt);
                goto fail;
        }

        /* Inside an image file ownership is just data: the loop mount is
         * read-only and the file itself was checked above. */
        r = image_policy_scan(root_fd, kind == IMAGE_TREE ? IMAGE_POLICY_ROOT_OWNED : 0, a.allow, a.n_allow, &rep);
        if (r < 0) {
                log_error_errno(r, "Failed to scan image %s: %m", image);
                goto fail;
        }
        if (rep.n_violations > 0) {
                r = log_policy_report(image, &rep);
                goto fail;
        }

        if (kind == IMAGE_TREE && a.have_digest) {
                r = image_digest_tree_fd(root_fd, got);
                if (r < 0) {
                        log_error_errno(r, "Failed to compute the digest of %s: %m", image);
                        goto fail;
                }
                r = check_digest(image, a.digest, got);
                if (r < 0)
                        goto fail;
        }

        log_exceptions(image, &a, &rep);
        log_info("Provisioned %s from %s%s%s.", mnt, image,
                 a.have_digest ? ", digest " : "", a.have_digest ? a.digest : "");
        if (ret_exceptions) {
                *ret_exceptions = TAKE_PTR(rep.exceptions);
                rep.n_exceptions = 0;
        }
        return 0;

fail:
        closep(&root_fd); /* before unmounting: an open fd keeps it busy */
        root_fd = -EBADF;
        if (mounted)
                (void) umount_all(mnt);
        /* Only what is empty goes; a leftover from an earlier run that holds
         * something is recycle's business. */
        if (rmdir(mnt) < 0 && errno != ENOENT)
                log_warning("Failed to remove %s, ignoring: %m", mnt);
        (void) rmdir(agent_dir);
        return r;
}

int verb_provision(int argc, char *argv[]) {
        return provision_image(argc, argv, NULL);
}
