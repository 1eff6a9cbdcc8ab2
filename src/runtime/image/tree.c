/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A deterministic, symlink-safe walk over a directory tree, shared by the
 * image policy and the tree digest so that both see exactly the same entries
 * in the same order. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "runtime.h"

typedef struct WalkContext {
        tree_walk_fn fn;
        void *userdata;
        size_t n_entries;
} WalkContext;

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void names_free(char **names, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

/* Reads the names in DIR_FD (without "." and "..") and sorts them. Reading
 * everything first keeps the order independent of the file system's hash
 * order and lets the caller open subdirectories without holding a DIR*. */
static int read_sorted_names(int dir_fd, char ***ret, size_t *ret_n) {
        _cleanup_close_ int fd = -EBADF;
        char **names = NULL;
        size_t n = 0, allocated = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        d = fdopendir(fd);
        if (!d)
                return negative_errno();
        TAKE_FD(fd); /* owned by d now */

        for (;;) {
                errno = 0;
                de = readdir(d);
                if (!de) {
                        if (errno != 0)
                                r = negative_errno();
                        break;
                }
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n >= allocated) {
                        size_t a = allocated ? allocated * 2 : 32;
                        char **p = reallocarray(names, a, sizeof(char *));
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        names = p;
                        allocated = a;
                }
                names[n] = strdup(de->d_name);
                if (!names[n]) {
                        r = -ENOMEM;
                        break;
                }
                n++;
        }
        closedir(d);
        if (r < 0) {
                names_free(names, n);
                return r;
        }

        if (n > 0)
                qsort(names, n, sizeof(char *), cmp_names);
        *ret = names;
        *ret_n = n;
        return 0;
}

static int walk_dir(WalkContext *c, int dir_fd, const char *prefix, unsigned depth) {
        char **names = NULL;
        size_t n = 0;
        int r;

        if (depth > TREE_DEPTH_MAX)
                return -ELOOP;

        r = read_sorted_names(dir_fd, &names, &n);
        if (r < 0)
                return r;

        for (size_t i = 0; i < n && r >= 0; i++) {
                _cleanup_free_ char *path = NULL;
                struct stat st;

                if (++c->n_entries > TREE_ENTRIES_MAX) {
                        r = -EFBIG;
                        break;
                }

                if (fstatat(dir_fd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = negative_errno();
                        break;
                }

                if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", names[i]) < 0) {
                        path = NULL;
                        r = -ENOMEM;
                        break;
                }
                if (strlen(path) >= PATH_MAX) {
                        r = -ENAMETOOLONG;
                        break;
                }

                r = c->fn(&(TreeEntry) {
                        .path = path,
                        .name = names[i],
                        .dir_fd = dir_fd,
                        .st = &st,
                        .depth = depth + 1,
                }, c->userdata);
                if (r < 0)
                        break;

                if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = -EBADF;
                        struct stat st2;

                        sub = openat(dir_fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0) {
                                r = negative_errno();
                                break;
                        }
                        /* The entry we reported must be the one we descend into. */
                        if (fstat(sub, &st2) < 0) {
                                r = negative_errno();
                                break;
                        }
                        if (st2.st_dev != st.st_dev || st2.st_ino != st.st_ino) {
                                r = -ESTALE;
                                break;
                        }
                        r = walk_dir(c, sub, path, depth + 1);
                }
        }

        names_free(names, n);
        return r < 0 ? r : 0;
}

int tree_walk(int root_fd, tree_walk_fn fn, void *userdata) {
        WalkContext c = { .fn = fn, .userdata = userdata };
        struct stat st;
        int r;

        if (fstat(root_fd, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;

        r = fn(&(TreeEntry) {
                .path = ".",
                .name = ".",
                .dir_fd = root_fd,
                .st = &st,
                .depth = 0,
        }, userdata);
        if (r < 0)
                return r;

        return walk_dir(&c, root_fd, "", 0);
}
