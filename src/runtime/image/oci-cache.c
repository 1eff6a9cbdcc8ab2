/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The read-only image cache (oci.h, docs/DESIGN.md "Images"):
 *
 *   DIR/sha256-HEX.squashfs   the image, made once, never changed
 *   DIR/sha256-HEX.json       its metadata: references, size, created, last use
 *   DIR/locks/sha256-HEX.lock flock(2)ed while the digest is pulled or touched
 *   DIR/tmp/                  work directories of pulls under way
 *
 * An entry exists exactly when its image file does: the metadata is written
 * before the image is renamed into place, so a crash leaves at most a stray
 * metadata file or temp file, never a half-made image under its final name. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fs-util.h"
#include "macro.h"
#include "oci.h"
#include "parse-value.h"

#define META_FILE_MAX (256U * 1024U)
#define REFERENCES_MAX 64

const char *oci_cache_dir(void) {
        const char *e = getenv("AGENTCAGE_OCI_DIR");

        /* Only a test moves it, and only to a plain absolute path. */
        if (e && path_is_normalized_absolute(e) && strlen(e) < 256 && !streq(e, "/"))
                return e;
        return OCI_CACHE_DIR_DEFAULT;
}

void oci_digest_stem(const char *digest, char ret[static IMAGE_REF_DIGEST_STRING_MAX]) {
        (void) snprintf(ret, IMAGE_REF_DIGEST_STRING_MAX, "sha256-%s", digest + 7);
}

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

void oci_entry_done(OciEntry *e) {
        strv_free(e->references);
        strv_free(e->sources);
        free(e->image_path);
        *e = (OciEntry) {};
}

void oci_entries_free(OciEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++)
                oci_entry_done(&e[i]);
        free(e);
}

static int entry_path(const char *digest, const char *suffix, char **ret) {
        char stem[IMAGE_REF_DIGEST_STRING_MAX];

        oci_digest_stem(digest, stem);
        return asprintf(ret, "%s/%s%s", oci_cache_dir(), stem, suffix) < 0 ? -ENOMEM : 0;
}

int oci_cache_lock(const char *digest) {
        _cleanup_free_ char *locks = NULL, *p = NULL;
        char stem[IMAGE_REF_DIGEST_STRING_MAX];
        int fd, r;

        if (asprintf(&locks, "%s/locks", oci_cache_dir()) < 0)
                return -ENOMEM;
        r = mkdir_no_symlink(locks, 0700);
        if (r == -EROFS)
                return r;
        if (r < 0)
                return r;
        oci_digest_stem(digest, stem);
        if (asprintf(&p, "%s/%s.lock", locks, stem) < 0)
                return -ENOMEM;
        fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0 && errno == EROFS) {
                /* Read-only here: wait for a pull elsewhere if there is one. */
                fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 && errno == ENOENT)
                        return -EROFS;
                if (fd >= 0) {
                        while (flock(fd, LOCK_SH) < 0 && errno == EINTR)
                                ;
                        close(fd);
                        return -EROFS;
                }
        }
        if (fd < 0)
                return negative_errno();
        while (flock(fd, LOCK_EX) < 0)
                if (errno != EINTR) {
                        r = negative_errno();
                        close(fd);
                        return r;
                }
        return fd;
}

static int strv_add(char ***v, const char *s) {
        size_t n = 0;
        char **nv, *d;

        while (*v && (*v)[n])
                n++;
        if (n >= REFERENCES_MAX)
                return 0; /* enough history; the first ones stay */
        d = strdup(s);
        if (!d)
                return -ENOMEM;
        nv = reallocarray(*v, n + 2, sizeof(char *));
        if (!nv) {
                free(d);
                return -ENOMEM;
        }
        nv[n] = d;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

static int meta_strv(json_object *root, const char *key, char ***v) {
        json_object *a;

        if (!json_object_object_get_ex(root, key, &a) || !json_object_is_type(a, json_type_array))
                return 0;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                json_object *o = json_object_array_get_idx(a, i);
                if (json_object_is_type(o, json_type_string) && strv_add(v, json_object_get_string(o)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int meta_parse(const char *text, OciEntry *e) {
        json_object *root = json_tokener_parse(text), *o;
        int r = -EBADMSG;

        if (!root || !json_object_is_type(root, json_type_object))
                goto done;
        if (meta_strv(root, "references", &e->references) < 0 || meta_strv(root, "sources", &e->sources) < 0) {
                r = -ENOMEM;
                goto done;
        }
        if (json_object_object_get_ex(root, "created", &o))
                e->created = (uint64_t) json_object_get_int64(o);
        if (json_object_object_get_ex(root, "last_used", &o))
                e->last_used = (uint64_t) json_object_get_int64(o);
        r = 0;
done:
        json_object_put(root);
        return r;
}

static int read_meta(const char *path, OciEntry *e) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        _cleanup_free_ char *buf = NULL;
        ssize_t k;

        if (fd < 0)
                return negative_errno();
        buf = malloc(META_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        k = read(fd, buf, META_FILE_MAX + 1);
        if (k < 0)
                return negative_errno();
        if ((size_t) k > META_FILE_MAX)
                return -EFBIG;
        buf[k] = '\0';
        return meta_parse(buf, e);
}

int oci_cache_get(const char *digest, OciEntry *ret) {
        _cleanup_(oci_entry_done) OciEntry e = {};
        _cleanup_free_ char *meta = NULL;
        struct stat st;
        int r;

        if (entry_path(digest, ".squashfs", &e.image_path) < 0 || entry_path(digest, ".json", &meta) < 0)
                return -ENOMEM;
        if (lstat(e.image_path, &st) < 0)
                return errno == ENOENT ? 0 : negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        snprintf(e.digest, sizeof e.digest, "%s", digest);
        e.size = (uint64_t) st.st_size;
        /* Metadata is informational: a damaged file is rewritten on use. */
        r = read_meta(meta, &e);
        if (r == -ENOMEM)
                return r;
        *ret = e;
        e = (OciEntry) {};
        return 1;
}

int oci_cache_write_meta(const OciEntry *e) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        json_object *root = json_object_new_object(), *a = json_object_new_array(), *src = json_object_new_array();
        const char *text;
        int fd, r = 0;
        size_t n;

        if (!root || !a || !src) {
                json_object_put(root);
                json_object_put(a);
                json_object_put(src);
                return -ENOMEM;
        }
        for (char **s = e->references; s && *s; s++)
                json_object_array_add(a, json_object_new_string(*s));
        for (char **s = e->sources; s && *s; s++)
                json_object_array_add(src, json_object_new_string(*s));
        json_object_object_add(root, "digest", json_object_new_string(e->digest));
        json_object_object_add(root, "references", a);
        json_object_object_add(root, "sources", src);
        json_object_object_add(root, "size", json_object_new_int64((int64_t) e->size));
        json_object_object_add(root, "created", json_object_new_int64((int64_t) e->created));
        json_object_object_add(root, "last_used", json_object_new_int64((int64_t) e->last_used));
        text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);

        if (entry_path(e->digest, ".json", &path) < 0 || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                json_object_put(root);
                return -ENOMEM;
        }
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                json_object_put(root);
                return negative_errno();
        }
        n = strlen(text);
        if (fchmod(fd, 0644) < 0 || write(fd, text, n) != (ssize_t) n || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
                r = errno > 0 ? -errno : -EIO;
        close(fd);
        json_object_put(root);
        if (r == 0 && rename(tmp, path) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static bool strv_contains(char **v, const char *s) {
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

int oci_cache_touch(OciEntry *e, const char *reference, const char *source) {
        int r;

        if (!strv_contains(e->references, reference)) {
                r = strv_add(&e->references, reference);
                if (r < 0)
                        return r;
        }
        if (source && !strv_contains(e->sources, source)) {
                r = strv_add(&e->sources, source);
                if (r < 0)
                        return r;
        }
        e->last_used = now_usec();
        if (e->created == 0)
                e->created = e->last_used;
        return oci_cache_write_meta(e);
}

static int entry_cmp(const void *a, const void *b) {
        return strcmp(((const OciEntry *) a)->digest, ((const OciEntry *) b)->digest);
}

static bool stem_to_digest(const char *name, char ret[static IMAGE_REF_DIGEST_STRING_MAX]) {
        size_t n = strlen(name);

        if (n != 7 + 64 + 9 || strncmp(name, "sha256-", 7) != 0 || !streq(name + 71, ".squashfs"))
                return false;
        for (size_t i = 7; i < 71; i++)
                if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
                        return false;
        (void) snprintf(ret, IMAGE_REF_DIGEST_STRING_MAX, "sha256:%.64s", name + 7);
        return true;
}

int oci_cache_list(OciEntry **ret, size_t *ret_n) {
        DIR *d = opendir(oci_cache_dir());
        OciEntry *v = NULL;
        size_t n = 0;
        struct dirent *de;
        int r = 0;

        if (!d) {
                *ret = NULL;
                *ret_n = 0;
                return errno == ENOENT ? 0 : negative_errno();
        }
        while ((de = readdir(d))) {
                char digest[IMAGE_REF_DIGEST_STRING_MAX];
                OciEntry e = {}, *nv;

                if (!stem_to_digest(de->d_name, digest))
                        continue;
                r = oci_cache_get(digest, &e);
                if (r < 0)
                        break;
                if (r == 0)
                        continue;
                nv = reallocarray(v, n + 1, sizeof(OciEntry));
                if (!nv) {
                        oci_entry_done(&e);
                        r = -ENOMEM;
                        break;
                }
                v = nv;
                v[n++] = e;
                r = 0;
        }
        closedir(d);
        if (r < 0) {
                oci_entries_free(v, n);
                return r;
        }
        if (n > 0)
                qsort(v, n, sizeof(OciEntry), entry_cmp);
        *ret = v;
        *ret_n = n;
        return 0;
}

int oci_cache_remove(const char *digest) {
        static const char *const suffixes[] = { ".squashfs", ".json" };
        _cleanup_free_ char *lock = NULL;
        char stem[IMAGE_REF_DIGEST_STRING_MAX];
        int fd, r = 0;

        /* Under the lock: a pull of the same digest finishes first. An agent
         * that has the image mounted keeps its loop device; the file goes
         * with its last user. */
        fd = oci_cache_lock(digest);
        if (fd < 0)
                return fd;
        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                _cleanup_free_ char *p = NULL;
                if (entry_path(digest, suffixes[i], &p) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (unlink(p) < 0 && errno != ENOENT && r == 0)
                        r = negative_errno();
        }
        oci_digest_stem(digest, stem);
        if (asprintf(&lock, "%s/locks/%s.lock", oci_cache_dir(), stem) >= 0)
                (void) unlink(lock);
        close(fd);
        return r;
}

int oci_cache_find_source(const char *reference, const char *source, OciEntry *ret) {
        OciEntry *v = NULL;
        size_t n = 0;
        int r = oci_cache_list(&v, &n), found = 0;

        if (r < 0)
                return r;
        for (size_t i = 0; i < n && !found; i++)
                if (strv_contains(v[i].references, reference) && strv_contains(v[i].sources, source)) {
                        *ret = v[i];
                        v[i] = (OciEntry) {};
                        found = 1;
                }
        oci_entries_free(v, n);
        return found;
}

static bool is_stale(int dir_fd, const char *name, time_t before) {
        struct stat st;

        return fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < before;
}

/* In the cache directory: ".sha256-….squashfs.XXXXXX", "sha256-….json.XXXXXX"
 * and a "sha256-HEX.json" whose image file is missing. */
static bool is_leftover(int dir_fd, const char *name) {
        char img[128];
        size_t n = strlen(name);

        if (strncmp(name, ".sha256-", 8) == 0 && strstr(name, ".squashfs."))
                return true;
        if (strncmp(name, "sha256-", 7) == 0 && strstr(name, ".json."))
                return true;
        if (strncmp(name, "sha256-", 7) == 0 && n == 71 + 5 && streq(name + 71, ".json")) {
                (void) snprintf(img, sizeof img, "%.71s.squashfs", name);
                return faccessat(dir_fd, img, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
        }
        return false;
}

int oci_cache_clean_stale(unsigned min_age_sec) {
        time_t before = time(NULL) - (time_t) min_age_sec;
        _cleanup_free_ char *tmp = NULL;
        struct dirent *de;
        DIR *d;
        int n = 0;

        if (asprintf(&tmp, "%s/tmp", oci_cache_dir()) < 0)
                return -ENOMEM;
        d = opendir(oci_cache_dir());
        if (!d)
                return errno == ENOENT ? 0 : negative_errno();
        while ((de = readdir(d)))
                if (is_leftover(dirfd(d), de->d_name) && is_stale(dirfd(d), de->d_name, before) &&
                    unlinkat(dirfd(d), de->d_name, 0) == 0)
                        n++;
        closedir(d);
        d = opendir(tmp);
        if (!d)
                return errno == ENOENT ? n : negative_errno();
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "pull.", 5) == 0 && is_stale(dirfd(d), de->d_name, before) &&
                    oci_remove_tree_at(dirfd(d), de->d_name) == 0)
                        n++;
        closedir(d);
        return n;
}

bool oci_entry_matches(const OciEntry *e, const char *reference) {
        /* Only what the entry was accepted under: the same digest under
         * another reference needs the trust policy's verdict first, so the
         * entry is not (yet) that agent's image. */
        return strv_contains(e->references, reference);
}
