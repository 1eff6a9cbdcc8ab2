/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"

void buffer_reset(Buffer *b) {
        b->len = 0;
        b->failed = false;
        if (b->data)
                b->data[0] = '\0';
}

void buffer_done(Buffer *b) {
        free(b->data);
        *b = (Buffer) {};
}

static bool buffer_reserve(Buffer *b, size_t extra) {
        if (b->failed)
                return false;
        if (b->len + extra + 1 <= b->allocated)
                return true;
        size_t na = b->allocated ? b->allocated : 4096;
        while (na < b->len + extra + 1)
                na *= 2;
        char *t = realloc(b->data, na);
        if (!t) {
                b->failed = true;
                return false;
        }
        b->data = t;
        b->allocated = na;
        return true;
}

void buffer_put_slow(Buffer *b, const char *s, size_t n) {
        if (!buffer_reserve(b, n))
                return;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void buffer_printf(Buffer *b, const char *fmt, ...) {
        va_list ap;
        int n;

        if (!buffer_reserve(b, 64))
                return;
        /* Try the space there is first; only a long result needs a second pass. */
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, b->allocated - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t) n < b->allocated - b->len) {
                b->len += (size_t) n;
                return;
        }
        if (n < 0 || !buffer_reserve(b, (size_t) n)) {
                b->failed = true;
                return;
        }
        va_start(ap, fmt);
        (void) vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
}
