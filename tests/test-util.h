/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers the C tests share (beside tap.h, which prints the results). */

#include <errno.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory for the test's files with no world-writable directory above
 * it (secret sources below one are refused by design): the working
 * directory (meson's build directory) unless it is below /tmp or the like,
 * else /run, which only root can write. Returns 0 or -errno. */
static inline int test_pick_base_dir(char *buf, size_t size) {
        char p[PATH_MAX];
        struct stat st;

        if (!getcwd(buf, size))
                return -errno;
        snprintf(p, sizeof p, "%s", buf);
        for (;;) {
                char *slash;

                if (stat(p, &st) < 0)
                        return -errno;
                if (st.st_mode & S_IWOTH) {
                        snprintf(buf, size, "/run");
                        return 0;
                }
                if (strcmp(p, "/") == 0)
                        return 0;
                slash = strrchr(p, '/');
                if (!slash)
                        return -EINVAL;
                if (slash == p)
                        p[1] = 0;
                else
                        *slash = 0;
        }
}

/* Makes BUF a fresh directory NAME-XXXXXX below test_pick_base_dir()'s
 * choice. Returns 0 or -errno. */
static inline int test_make_base_dir(char *buf, size_t size, const char *name) {
        size_t n;
        int r;

        r = test_pick_base_dir(buf, size);
        if (r < 0)
                return r;
        n = strlen(buf);
        if ((size_t) snprintf(buf + n, size - n, "/%s-XXXXXX", name) >= size - n)
                return -ENAMETOOLONG;
        if (!mkdtemp(buf))
                return -errno;
        return 0;
}

/* Prints TEXT as TAP comments, each line after PREFIX (e.g. "#   | "), so
 * that a program's output never reads as a result line. */
static inline void test_diag_lines(const char *prefix, const char *text) {
        for (const char *l = text, *e; *l; l = e ? e + 1 : l + strlen(l)) {
                e = strchr(l, '\n');
                printf("%s%.*s\n", prefix, e ? (int) (e - l) : (int) strlen(l), l);
        }
}

/* Reads FD until EOF (or 64 KiB) into a static buffer, NUL-terminated. */
static inline const char *test_read_all(int fd) {
        static char buf[65536];
        size_t n = 0;
        ssize_t k;

        while (n < sizeof buf - 1 && (k = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
                n += (size_t) k;
        buf[n] = '\0';
        return buf;
}

/* printf() into one of eight rotating static buffers: a path to pass on at
 * once, several per call allowed. */
__attribute__((format(printf, 1, 2)))
static inline char *test_pathf(const char *fmt, ...) {
        static char bufs[8][4096];
        static unsigned k;
        char *b = bufs[k++ % 8];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(b, sizeof bufs[0], fmt, ap);
        va_end(ap);
        return b;
}

/* The common start of a test that needs root and a scratch directory: says
 * "Bail out!" (with WHY) unless it runs as root, then makes DIR (a mkdtemp()
 * template) with MODE. Returns 0, or -1 after the bail-out line. */
static inline int test_root_scratch_dir(const char *why, char *dir, mode_t mode) {
        if (geteuid() != 0) {
                printf("Bail out! needs root (%s)\n", why);
                return -1;
        }
        if (!mkdtemp(dir) || chmod(dir, mode) < 0) {
                printf("Bail out! mkdtemp: %m\n");
                return -1;
        }
        return 0;
}

/* Catching what this process writes to a standard stream, e.g. a verb
 * called in-process: test_capture_begin(FD) points FD at a fresh memfd,
 * test_capture_end() points it back and reads what came (at most SIZE-1
 * bytes, NUL-terminated) into BUF. */
typedef struct TestCapture {
        int fd, saved, mfd;
} TestCapture;

static inline TestCapture test_capture_begin(int fd) {
        TestCapture c = { .fd = fd, .mfd = memfd_create("capture", MFD_CLOEXEC), .saved = dup(fd) };

        fflush(fd == STDERR_FILENO ? stderr : stdout);
        (void) dup2(c.mfd, fd);
        return c;
}

static inline char *test_capture_end(TestCapture *c, char *buf, size_t size) {
        ssize_t n;

        fflush(c->fd == STDERR_FILENO ? stderr : stdout);
        (void) dup2(c->saved, c->fd);
        (void) close(c->saved);
        n = pread(c->mfd, buf, size - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        (void) close(c->mfd);
        return buf;
}
