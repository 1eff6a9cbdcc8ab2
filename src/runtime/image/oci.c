/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Provisioning an Image= reference (oci.h, docs/DESIGN.md "Images").
 *
 *   1. skopeo copies the image into a private OCI layout under the trust
 *      policy (--policy, explicitly); a refusal ends here, logged with
 *      skopeo's reason. Nothing is unpacked that the policy did not accept.
 *   2. umoci unpacks it (--rootless) as OCI_UNPACK_UID, a uid owning nothing
 *      but the work directory: a layer that tries to write outside the tree
 *      (../, absolute names, through symlinks of earlier entries) or to link
 *      a host file lands inside the tree or fails; device nodes become empty
 *      files; file capabilities cannot be set. umoci applies whiteouts and
 *      opaque directories.
 *   3. The tree must pass the approved-image policy (setuid/setgid files, a
 *      shell, devices, … are refused by name) and the site's scan hook.
 *   4. mksquashfs makes the read-only image file (all files root's, no
 *      xattrs), renamed into the cache under its digest.
 *
 * Everything runs under the digest's lock, so concurrent first starts of the
 * same image pull once; a registry image found in the cache needs neither
 * the registry nor the work again. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fs-util.h"
#include "log.h"
#include "macro.h"
#include "oci.h"
#include "runtime.h"

#define SKOPEO "/usr/bin/skopeo"
#define UMOCI "/usr/bin/umoci"
#define MKSQUASHFS "/usr/bin/mksquashfs"

static const char *env_path(const char *name, const char *def) {
        const char *e = getenv(name);
        return e && e[0] == '/' ? e : def;
}

/* Removes NAME below DIR_FD and everything in it, never following a
 * symlink (the tree is hostile). */
static int rm_rf_at(int dir_fd, const char *name, unsigned depth) {
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;

        if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return negative_errno();
        if (depth > TREE_DEPTH_MAX + 8)
                return -ELOOP;
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        fd = -EBADF; /* owned by d now */
        while ((de = readdir_no_dot(d))) {
                int r = rm_rf_at(dirfd(d), de->d_name, depth + 1);
                if (r < 0) {
                        closedir(d);
                        return r;
                }
        }
        closedir(d);
        return unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 ? negative_errno() : 0;
}

int oci_remove_tree_at(int dir_fd, const char *name) {
        return rm_rf_at(dir_fd, name, 0);
}

static void work_remove(const char *work) {
        int r = rm_rf_at(AT_FDCWD, work, 0);
        if (r < 0)
                log_warning_errno(r, "Failed to remove %s, ignoring: %m", work);
}

static int cache_dirs(char **ret_tmp) {
        const char *dir = oci_cache_dir();
        _cleanup_free_ char *parent = strdup(dir), *tmp = NULL;
        char *slash;
        int r;

        if (!parent)
                return log_oom();
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                r = mkdir_no_symlink(parent, 0755);
                if (r == -EROFS)
                        return r;
                if (r < 0)
                        return log_error_errno(r, "Failed to create %s: %m", parent);
        }
        r = mkdir_no_symlink(dir, 0755);
        if (r > 0 && chmod(dir, 0755) < 0) /* whatever the caller's umask */
                r = negative_errno();
        if (r == -EROFS)
                return r;
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", dir);
        if (asprintf(&tmp, "%s/tmp", dir) < 0)
                return log_oom();
        /* 0711: the unpacking uid may pass through to its own work directory
         * (whose random name it is told), nobody may list what is under way. */
        r = mkdir_no_symlink(tmp, 0711);
        if (r > 0 && chmod(tmp, 0711) < 0)
                r = negative_errno();
        if (r == -EROFS)
                return r;
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", tmp);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

/* The digest of the one manifest in the layout skopeo wrote. */
static int layout_digest(const char *work, char ret[static IMAGE_REF_DIGEST_STRING_MAX]) {
        _cleanup_free_ char *p = NULL;
        json_object *root, *m, *d;
        char tmp[IMAGE_DIGEST_STRING_MAX];
        int r = -EBADMSG;

        if (asprintf(&p, "%s/layout/index.json", work) < 0)
                return -ENOMEM;
        root = json_object_from_file(p);
        if (root && json_object_object_get_ex(root, "manifests", &m) && json_object_is_type(m, json_type_array) &&
            json_object_array_length(m) == 1 &&
            json_object_object_get_ex(json_object_array_get_idx(m, 0), "digest", &d) &&
            image_digest_parse(json_object_get_string(d), tmp) == 0) {
                memcpy(ret, tmp, IMAGE_REF_DIGEST_STRING_MAX);
                r = 0;
        }
        json_object_put(root);
        return r;
}

static int pull(const char *reference, const char *work) {
        const char *policy = env_path("AGENTCAGE_OCI_POLICY", OCI_POLICY_DEFAULT);
        const char *regd = getenv("AGENTCAGE_OCI_REGISTRIES_D"), *regconf = getenv("AGENTCAGE_OCI_REGISTRIES_CONF");
        _cleanup_free_ char *dest = NULL, *out = NULL;
        char *argv[16];
        size_t n = 0;
        int r;

        if (access(policy, R_OK) < 0)
                return log_error_errno(-EPERM, "Refusing image %s: no trust policy at %s (containers-policy.json(5); "
                                       "see agentcage.agent(5), \"Image references\").", reference, policy);
        if (asprintf(&dest, "oci:%s/layout:img", work) < 0)
                return log_oom();
        argv[n++] = (char *) SKOPEO;
        argv[n++] = (char *) "--policy";
        argv[n++] = (char *) policy;
        if (regd && regd[0] == '/') {
                argv[n++] = (char *) "--registries.d";
                argv[n++] = (char *) regd;
        }
        if (regconf && regconf[0] == '/') {
                argv[n++] = (char *) "--registries-conf";
                argv[n++] = (char *) regconf;
        }
        argv[n++] = (char *) "--tmpdir";
        argv[n++] = (char *) work;
        argv[n++] = (char *) "copy";
        argv[n++] = (char *) "--quiet";
        /* Verified at the source by the policy; an OCI layout cannot hold them. */
        argv[n++] = (char *) "--remove-signatures";
        if (access(OCI_AUTH_FILE_DEFAULT, R_OK) == 0) {
                argv[n++] = (char *) "--authfile";
                argv[n++] = (char *) OCI_AUTH_FILE_DEFAULT;
        }
        argv[n++] = (char *) reference;
        argv[n++] = dest;
        argv[n] = NULL;

        log_info("Pulling %s (trust policy %s).", reference, policy);
        r = oci_run(&(OciCommand) { .argv = argv, .cwd_fd = -1 }, &out);
        if (r < 0)
                return log_error_errno(r, "Failed to run skopeo for %s: %m", reference);
        if (r == 0)
                return 0;
        if (strstr(out, "Source image rejected"))
                return log_error_errno(-EPERM, "Refusing image %s: the trust policy %s rejects it: %s",
                                       reference, policy, out);
        return log_error_errno(-EIO, "Failed to pull image %s (skopeo exit %d): %s", reference, r, out);
}

static int unpack(const char *reference, const char *work) {
        static char *const argv[] = {
                (char *) UMOCI, (char *) "unpack", (char *) "--rootless", (char *) "--image",
                (char *) "layout:img", (char *) "bundle", NULL,
        };
        _cleanup_close_ int fd = open(work, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_free_ char *out = NULL;
        int r;

        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open %s: %m", work);
        /* The work directory becomes the unpacking uid's; it is the only
         * place on the host that uid can write to. */
        if (fchown(fd, OCI_UNPACK_UID, OCI_UNPACK_UID) < 0 || fchmod(fd, 0700) < 0)
                return log_error_errno(negative_errno(), "Failed to hand %s to the unpacking uid: %m", work);
        r = oci_run(&(OciCommand) { .argv = argv, .cwd_fd = fd, .unprivileged = true }, &out);
        if (r < 0)
                return log_error_errno(r, "Failed to run umoci for %s: %m", reference);
        if (r != 0)
                return log_error_errno(-EPERM, "Refusing image %s: unpacking its layers failed (umoci exit %d): %s",
                                       reference, r, out);
        if (*out)
                log_info("umoci: %s", out);
        return 0;
}

static int check_tree(const char *reference, const char *rootfs, char *const *allow, size_t n_allow) {
        _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_(image_policy_report_done) ImagePolicyReport rep = {};
        int r;

        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open the unpacked tree %s: %m", rootfs);
        /* Ownership inside the tree is the unpacking uid's; the image file is
         * made with every file root's. */
        r = image_policy_scan(fd, 0, allow, n_allow, &rep);
        if (r < 0)
                return log_error_errno(r, "Failed to scan the unpacked tree of %s: %m", reference);
        if (rep.n_violations == 0)
                return 0;
        log_error("Image %s violates the approved-image policy:", reference);
        for (size_t i = 0; i < rep.n_violations; i++)
                log_error("  %s: %s", rep.violations[i].path, rep.violations[i].reason);
        return log_error_errno(-EPERM, "Refusing image %s: %zu policy violation%s.", reference, rep.n_violations,
                               rep.n_violations == 1 ? "" : "s");
}

static int scan_hook(const char *reference, const char *digest, const char *rootfs) {
        const char *hook = env_path("AGENTCAGE_SCAN_HOOK", OCI_SCAN_HOOK_DEFAULT);
        _cleanup_free_ char *out = NULL, *bad = NULL;
        char *argv[] = { (char *) hook, (char *) rootfs, (char *) reference, (char *) digest, NULL };
        const char *why = NULL;
        struct stat st;
        int r;

        if (lstat(hook, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(negative_errno(), "Failed to check the scan hook %s: %m", hook);
        }
        if (!S_ISREG(st.st_mode) || !(st.st_mode & S_IXUSR))
                return log_error_errno(-EPERM, "Refusing image %s: the scan hook %s is not an executable file.",
                                       reference, hook);
        r = image_path_check_root_owned(hook, &bad, &why);
        if (r < 0)
                return log_error_errno(-EPERM, "Refusing image %s: the scan hook %s is unsafe: %s is %s.",
                                       reference, hook, strempty(bad), strempty(why));
        log_info("Running the scan hook %s on %s.", hook, reference);
        r = oci_run(&(OciCommand) { .argv = argv, .cwd_fd = -1 }, &out);
        if (r < 0)
                return log_error_errno(r, "Failed to run the scan hook %s: %m", hook);
        if (r != 0)
                return log_error_errno(-EPERM, "Refusing image %s: the scan hook %s failed (exit %d): %s",
                                       reference, hook, r, out);
        if (*out)
                log_info("Scan hook: %s", out);
        return 0;
}

/* mksquashfs into a temp name in the cache, metadata, then the rename that
 * makes the entry exist. */
static int make_image(const char *reference, const char *digest, const char *source, const char *rootfs,
                      OciEntry *e) {
        _cleanup_free_ char *tmp = NULL, *out = NULL;
        char stem[IMAGE_REF_DIGEST_STRING_MAX];
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        int r;

        oci_digest_stem(digest, stem);
        if (asprintf(&e->image_path, "%s/%s.squashfs", oci_cache_dir(), stem) < 0 ||
            asprintf(&tmp, "%s/.%s.squashfs.XXXXXX", oci_cache_dir(), stem) < 0)
                return log_oom();
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to create a temporary image in %s: %m", oci_cache_dir());
        {
                char *argv[] = { (char *) MKSQUASHFS, (char *) rootfs, tmp, (char *) "-noappend", (char *) "-all-root",
                                 (char *) "-no-xattrs", (char *) "-quiet", (char *) "-no-progress", NULL };
                r = oci_run(&(OciCommand) { .argv = argv, .cwd_fd = -1 }, &out);
        }
        if (r != 0) {
                (void) unlink(tmp);
                return log_error_errno(r < 0 ? r : -EIO, "Failed to make the image file of %s: %s", reference,
                                       r < 0 ? "cannot run mksquashfs" : out);
        }
        if (fsync(fd) < 0 || fchmod(fd, 0644) < 0 || fstat(fd, &st) < 0) {
                r = log_error_errno(negative_errno(), "Failed to write %s: %m", tmp);
                (void) unlink(tmp);
                return r;
        }
        snprintf(e->digest, sizeof e->digest, "%s", digest);
        e->size = (uint64_t) st.st_size;
        r = oci_cache_touch(e, reference, source);
        if (r >= 0 && rename(tmp, e->image_path) < 0)
                r = negative_errno();
        if (r < 0) {
                (void) unlink(tmp);
                return log_error_errno(r, "Failed to add %s to the cache %s: %m", reference, oci_cache_dir());
        }
        return 0;
}

static int use_entry(OciEntry *e, const char *reference, const char *source, char **ret) {
        int r = oci_cache_touch(e, reference, source);

        /* Inside an agent's sandbox the cache is read-only: the use is then
         * not recorded, which is all that is lost. */
        if (r < 0)
                log_full_errno(r == -EROFS ? LOG_DEBUG : LOG_WARNING, r,
                               "Failed to record the use of %s, ignoring: %m", e->image_path);
        log_info("Image %s is cached as %s.", reference, e->image_path);
        *ret = TAKE_PTR(e->image_path);
        return 1;
}

/* 1 and the image file if DIGEST is cached. With KNOWN_ONLY, only if
 * REFERENCE is one the entry was accepted under: the trust policy judges a
 * reference (its registry, its repository), and a digest accepted under one
 * must not stand in for the verdict on another. */
static int from_cache(const char *reference, const char *digest, const char *source, bool known_only, char **ret) {
        _cleanup_(oci_entry_done) OciEntry e = {};
        bool known = false;
        int r = oci_cache_get(digest, &e);

        if (r <= 0)
                return r;
        for (char **s = e.references; s && *s; s++)
                known = known || streq(*s, reference);
        if (known_only && !known)
                return 0;
        return use_entry(&e, reference, source, ret);
}

static int not_cached_read_only(const char *reference) {
        return log_error_errno(-EROFS, "Image %s is not in the cache %s, which is read-only here (inside the agent's "
                               "sandbox): pull it first with 'agentctl pull NAME'.", reference, oci_cache_dir());
}

/* Where the cache can answer without skopeo: a registry image by its
 * digest, an archive by the digest of the file. 1 if it did, 0 if not
 * (then *ret_lock holds the digest's lock for a registry image). */
static int lookup(const ImageRef *ref, const char *reference, const char *source, int *ret_lock, char **ret) {
        _cleanup_(oci_entry_done) OciEntry e = {};
        int r;

        if (ref->transport == IMAGE_REF_DOCKER) {
                int lock = oci_cache_lock(ref->digest);
                if (lock < 0 && lock != -EROFS)
                        return log_error_errno(lock, "Failed to lock the cache entry of %s: %m", ref->digest);
                r = from_cache(reference, ref->digest, NULL, true, ret);
                if (r < 0)
                        log_error_errno(r, "Failed to read the cache entry of %s: %m", ref->digest);
                if (r == 0 && lock == -EROFS)
                        r = not_cached_read_only(reference);
                if (r != 0 && lock >= 0)
                        close(lock);
                else if (r == 0)
                        *ret_lock = lock;
                return r;
        }
        if (!source)
                return 0;
        r = oci_cache_find_source(reference, source, &e);
        if (r < 0)
                return log_error_errno(r, "Failed to read the cache %s: %m", oci_cache_dir());
        if (r == 0)
                return 0;
        return use_entry(&e, reference, source, ret);
}

/* Under the digest's lock: unpack, check, make the image. */
static int build_entry(const char *reference, const char *digest, const char *source, const char *work,
                       char *const *allow, size_t n_allow, char **ret) {
        _cleanup_(oci_entry_done) OciEntry e = {};
        _cleanup_free_ char *rootfs = NULL;
        int r;

        r = unpack(reference, work);
        if (r < 0)
                return r;
        if (asprintf(&rootfs, "%s/bundle/rootfs", work) < 0)
                return log_oom();
        r = check_tree(reference, rootfs, allow, n_allow);
        if (r < 0)
                return r;
        r = scan_hook(reference, digest, rootfs);
        if (r < 0)
                return r;
        r = make_image(reference, digest, source, rootfs, &e);
        if (r < 0)
                return r;
        log_info("Image %s (%s) cached as %s, %ju bytes.", reference, digest, e.image_path, (uintmax_t) e.size);
        *ret = TAKE_PTR(e.image_path);
        return 0;
}

/* The sha256 of an archive file, which names what it holds without running
 * skopeo; NULL for the other transports. */
static int source_digest(const ImageRef *ref, char ret[static IMAGE_DIGEST_STRING_MAX], const char **ret_source) {
        _cleanup_close_ int fd = -EBADF;
        int r;

        *ret_source = NULL;
        if (ref->transport != IMAGE_REF_OCI_ARCHIVE && ref->transport != IMAGE_REF_DOCKER_ARCHIVE)
                return 0;
        fd = open(ref->path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(negative_errno(), "Failed to open the archive %s: %m", ref->path);
        r = image_digest_file_fd(fd, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to read the archive %s: %m", ref->path);
        *ret_source = ret;
        return 0;
}

int oci_provision(const char *reference, char *const *allow, size_t n_allow, char **ret_image_file) {
        _cleanup_(image_ref_done) ImageRef ref = {};
        _cleanup_free_ char *tmp = NULL, *work = NULL;
        _cleanup_close_ int lock = -EBADF;
        char digest[IMAGE_REF_DIGEST_STRING_MAX] = "", srcbuf[IMAGE_DIGEST_STRING_MAX];
        const char *why = NULL, *source = NULL;
        int r;

        r = image_ref_parse(reference, &ref, &why);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid image reference '%s': %s.", reference, why);
        r = source_digest(&ref, srcbuf, &source);
        if (r < 0)
                return r;
        /* -EROFS: inside an agent's sandbox; the cache can only answer. */
        r = cache_dirs(&tmp);
        if (r < 0 && r != -EROFS)
                return r;
        r = lookup(&ref, reference, source, &lock, ret_image_file);
        if (r != 0)
                return r < 0 ? r : 0;
        if (!tmp)
                return not_cached_read_only(reference);
        if (asprintf(&work, "%s/pull.XXXXXX", tmp) < 0)
                return log_oom();
        if (!mkdtemp(work)) {
                r = negative_errno();
                return r == -EROFS ? not_cached_read_only(reference)
                                   : log_error_errno(r, "Failed to create a work directory in %s: %m", tmp);
        }

        /* The trust policy decides before anything is unpacked. A local
         * image is named by the digest of the manifest it holds. */
        r = pull(reference, work);
        if (r >= 0 && ref.transport == IMAGE_REF_DOCKER)
                memcpy(digest, ref.digest, sizeof digest);
        else if (r >= 0) {
                r = layout_digest(work, digest);
                if (r < 0)
                        log_error_errno(r, "Cannot read the manifest digest of %s: %m", reference);
                else {
                        lock = oci_cache_lock(digest);
                        if (lock < 0)
                                r = log_error_errno(lock, "Failed to lock the cache entry of %s: %m", digest);
                }
        }
        if (r >= 0) {
                r = from_cache(reference, digest, source, false, ret_image_file);
                if (r < 0)
                        log_error_errno(r, "Failed to read the cache entry of %s: %m", digest);
        }
        if (r == 0)
                r = build_entry(reference, digest, source, work, allow, n_allow, ret_image_file);
        work_remove(work);
        return r < 0 ? r : 0;
}
