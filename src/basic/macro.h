/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small helpers every file of agentcage uses: cleanup attributes, ownership
 * transfer, array sizes. Functions return 0 or a positive value on success and
 * a negative errno on failure; out-parameters are named ret_* and written only
 * on success. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _pure_ __attribute__((pure))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _public_ __attribute__((visibility("default")))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership of a pointer (or fd) out of a cleanup-guarded variable. */
#define TAKE_PTR(p)                                       \
        ({                                                \
                __typeof__(p) _tp_ = (p);                 \
                (p) = NULL;                               \
                _tp_;                                     \
        })
#define TAKE_FD(fd)                                       \
        ({                                                \
                int _tfd_ = (fd);                         \
                (fd) = -EBADF;                            \
                _tfd_;                                    \
        })

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Wipe memory the compiler may not optimise away: for keys and secrets. */
static inline void erase_memory(void *p, size_t n) {
        if (!p || n == 0)
                return;
        explicit_bzero(p, n);
}

static inline const char *strempty(const char *s) {
        return s ? s : "";
}

static inline int streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

/* Returns -errno, or -EIO where errno was not set (defensive: a caller must
 * never mistake a failure for success). */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
