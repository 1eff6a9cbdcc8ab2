/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "macro.h"

/* A growable byte buffer for rendering. Appends never truncate: they fail
 * with -ENOMEM and leave the buffer marked failed, so a caller may append a
 * whole unit and check once at the end. */
typedef struct Buffer {
        char *data;
        size_t len, allocated;
        bool failed;
} Buffer;

void buffer_reset(Buffer *b);
void buffer_done(Buffer *b);
void buffer_put_slow(Buffer *b, const char *s, size_t n);
/* Inline while there is room: a unit is rendered in hundreds of appends. */
static inline void buffer_put(Buffer *b, const char *s, size_t n) {
        if (!b->failed && b->len + n + 1 <= b->allocated) {
                memcpy(b->data + b->len, s, n);
                b->len += n;
                b->data[b->len] = '\0';
                return;
        }
        buffer_put_slow(b, s, n);
}
static inline void buffer_puts(Buffer *b, const char *s) {
        buffer_put(b, s, strlen(s));
}
void buffer_printf(Buffer *b, const char *fmt, ...) _printf_(2, 3);
static inline int buffer_status(const Buffer *b) {
        return b->failed ? -ENOMEM : 0;
}
