/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Image digests, for [Agent] ImageDigest= pins.
 *
 * An image FILE's digest is the sha256 of its bytes.
 *
 * A TREE's digest is the sha256 of this byte stream (version 1):
 *
 *     "agentcage-tree-v1" NUL
 *     then, for every entry in tree_walk() order (the root as ".", then depth
 *     first, each directory's entries sorted bytewise by name):
 *         PATH NUL TYPE NUL MODE NUL EXTRA…
 *
 * PATH is relative to the root ("." for the root, "usr/bin/agent" below it),
 * TYPE one letter (d directory, f regular file, l symlink, c/b character/
 * block device, p fifo, s socket), MODE the permission bits st_mode & 07777
 * as four octal digits. EXTRA depends on TYPE and every field ends in NUL:
 *     f: SIZE (decimal) NUL, SHA256 of the content (64 lowercase hex) NUL
 *     l: TARGET NUL            (the link text, never followed)
 *     c, b: MAJOR:MINOR NUL    (decimal)
 *     d, p, s: nothing
 * No field can contain a NUL and the number of fields follows from TYPE, so
 * two different trees cannot serialise to the same stream.
 *
 * Left out on purpose:
 *  - owner and group. The agent runs in a user namespace with
 *    --private-users-ownership=off: every file of the image shows up owned by
 *    the overflow id and the agent only ever gets the "other" permission
 *    bits, so ownership changes nothing it can do. Including it would make
 *    the same image digest differently depending on who unpacked or
 *    installed it (a build directory vs. `meson install` as root).
 *  - timestamps, for the same reason: they describe the copy, not the image.
 *  - extended attributes. The policy refuses file capabilities; the mount is
 *    nosuid; SELinux/AppArmor labels are the host's business.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "runtime.h"

#define TREE_DIGEST_MAGIC "agentcage-tree-v1"

static void evp_md_ctx_freep(EVP_MD_CTX **c) {
        EVP_MD_CTX_free(*c);
}
#define _cleanup_evp_md_ctx_ _cleanup_(evp_md_ctx_freep)

static void hex_encode(const unsigned char *d, size_t n, char *out) {
        static const char hex[] = "0123456789abcdef";

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = hex[d[i] >> 4];
                out[2 * i + 1] = hex[d[i] & 15];
        }
        out[2 * n] = '\0';
}

static int sha256_new(EVP_MD_CTX **ret) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();

        if (!c)
                return -ENOMEM;
        if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(c);
                return -EIO;
        }
        *ret = c;
        return 0;
}

static int sha256_update(EVP_MD_CTX *c, const void *p, size_t n) {
        return EVP_DigestUpdate(c, p, n) == 1 ? 0 : -EIO;
}

/* Feeds S including its terminating NUL: the field separator. */
static int sha256_field(EVP_MD_CTX *c, const char *s) {
        return sha256_update(c, s, strlen(s) + 1);
}

/* Finishes C and writes 64 hex digits + NUL to hex. */
static int sha256_final_hex(EVP_MD_CTX *c, char hex[static 65]) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != 32)
                return -EIO;
        hex_encode(md, len, hex);
        return 0;
}

/* Hashes everything FD yields until EOF. */
static int sha256_fd_hex(int fd, char hex[static 65], uint64_t *ret_size) {
        _cleanup_evp_md_ctx_ EVP_MD_CTX *c = NULL;
        unsigned char buf[64 * 1024];
        uint64_t total = 0;
        int r;

        r = sha256_new(&c);
        if (r < 0)
                return r;

        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                r = sha256_update(c, buf, (size_t) n);
                if (r < 0)
                        return r;
                total += (uint64_t) n;
        }

        r = sha256_final_hex(c, hex);
        if (r < 0)
                return r;
        if (ret_size)
                *ret_size = total;
        return 0;
}

int image_digest_file_fd(int fd, char ret[static IMAGE_DIGEST_STRING_MAX]) {
        char hex[65];
        int r;

        r = sha256_fd_hex(fd, hex, NULL);
        if (r < 0)
                return r;
        snprintf(ret, IMAGE_DIGEST_STRING_MAX, "sha256:%s", hex);
        return 0;
}

static int tree_digest_visit(const TreeEntry *e, void *userdata) {
        EVP_MD_CTX *c = userdata;
        const struct stat *st = e->st;
        char type, buf[64];
        int r;

        if (S_ISDIR(st->st_mode))
                type = 'd';
        else if (S_ISREG(st->st_mode))
                type = 'f';
        else if (S_ISLNK(st->st_mode))
                type = 'l';
        else if (S_ISCHR(st->st_mode))
                type = 'c';
        else if (S_ISBLK(st->st_mode))
                type = 'b';
        else if (S_ISFIFO(st->st_mode))
                type = 'p';
        else if (S_ISSOCK(st->st_mode))
                type = 's';
        else
                return -EBADMSG;

        r = sha256_field(c, e->path);
        if (r < 0)
                return r;
        snprintf(buf, sizeof buf, "%c", type);
        r = sha256_field(c, buf);
        if (r < 0)
                return r;
        snprintf(buf, sizeof buf, "%04o", (unsigned) (st->st_mode & 07777));
        r = sha256_field(c, buf);
        if (r < 0)
                return r;

        switch (type) {

        case 'f': {
                _cleanup_close_ int fd = -EBADF;
                struct stat fst;
                uint64_t size;
                char hex[65];

                /* O_NONBLOCK: should the entry have been swapped for a fifo,
                 * the open must not hang; the fstat() below then refuses it. */
                fd = openat(e->dir_fd, e->name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0)
                        return negative_errno();
                if (fstat(fd, &fst) < 0)
                        return negative_errno();
                if (!S_ISREG(fst.st_mode) || fst.st_ino != st->st_ino || fst.st_dev != st->st_dev)
                        return -ESTALE;
                r = sha256_fd_hex(fd, hex, &size);
                if (r < 0)
                        return r;
                /* The size we hashed, not the one stat() saw a moment ago. */
                snprintf(buf, sizeof buf, "%" PRIu64, size);
                r = sha256_field(c, buf);
                if (r < 0)
                        return r;
                return sha256_field(c, hex);
        }

        case 'l': {
                char target[PATH_MAX + 1];
                ssize_t n;

                n = readlinkat(e->dir_fd, e->name, target, sizeof target);
                if (n < 0)
                        return negative_errno();
                if ((size_t) n >= sizeof target)
                        return -ENAMETOOLONG;
                target[n] = '\0';
                return sha256_field(c, target);
        }

        case 'c':
        case 'b':
                snprintf(buf, sizeof buf, "%u:%u", major(st->st_rdev), minor(st->st_rdev));
                return sha256_field(c, buf);

        default:
                return 0;
        }
}

int image_digest_tree_fd(int dir_fd, char ret[static IMAGE_DIGEST_STRING_MAX]) {
        _cleanup_evp_md_ctx_ EVP_MD_CTX *c = NULL;
        char hex[65];
        int r;

        r = sha256_new(&c);
        if (r < 0)
                return r;
        r = sha256_field(c, TREE_DIGEST_MAGIC);
        if (r < 0)
                return r;
        r = tree_walk(dir_fd, tree_digest_visit, c);
        if (r < 0)
                return r;
        r = sha256_final_hex(c, hex);
        if (r < 0)
                return r;
        snprintf(ret, IMAGE_DIGEST_STRING_MAX, "sha256:%s", hex);
        return 0;
}

int image_digest_path(const char *path, char ret[static IMAGE_DIGEST_STRING_MAX]) {
        _cleanup_close_ int fd = -EBADF;
        struct stat st;

        /* The path itself may be a symlink (an operator's alias); what is
         * inside the tree never is followed. */
        fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (S_ISDIR(st.st_mode))
                return image_digest_tree_fd(fd, ret);
        if (S_ISREG(st.st_mode))
                return image_digest_file_fd(fd, ret);
        return -EMEDIUMTYPE;
}

int image_digest_parse(const char *s, char ret[static IMAGE_DIGEST_STRING_MAX]) {
        const char *hex;
        char out[IMAGE_DIGEST_STRING_MAX];

        if (!s || strncmp(s, "sha256:", 7) != 0)
                return -EINVAL;
        hex = s + 7;
        if (strlen(hex) != 64)
                return -EINVAL;
        memcpy(out, "sha256:", 7);
        for (size_t i = 0; i < 64; i++) {
                char ch = hex[i];
                if (ch >= 'A' && ch <= 'F')
                        ch = (char) (ch - 'A' + 'a');
                else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
                        return -EINVAL;
                out[7 + i] = ch;
        }
        out[7 + 64] = '\0';
        memcpy(ret, out, sizeof out);
        return 0;
}

static void digest_help(void) {
        printf("agent-runtime digest PATH\n\n"
               "Prints the sha256 digest of the image at PATH (a directory tree or an image\n"
               "file), in the form [Agent] ImageDigest= takes: sha256:HEX.\n");
}

int verb_digest(int argc, char *argv[]) {
        char d[IMAGE_DIGEST_STRING_MAX];
        int r;

        if (argc == 2 && (streq(argv[1], "--help") || streq(argv[1], "-h"))) {
                digest_help();
                return 0;
        }
        if (argc != 2 || argv[1][0] == '-' || argv[1][0] == '\0')
                return log_error_errno(-EINVAL, "Usage: agent-runtime digest PATH");

        r = image_digest_path(argv[1], d);
        if (r == -EMEDIUMTYPE)
                return log_error_errno(r, "%s is neither a directory nor a regular file.", argv[1]);
        if (r < 0)
                return log_error_errno(r, "Failed to compute the digest of %s: %m", argv[1]);

        printf("%s\n", d);
        if (fflush(stdout) != 0)
                return log_error_errno(negative_errno(), "Failed to write the digest: %m");
        return 0;
}
