/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* Makes room for one more element in the array *v of *allocated elements of
 * size elem, n of which are in use: doubles it (starting at first) when it is
 * full. Returns 0 or -ENOMEM (the array is left as it was). */
static inline int array_grow(void *v, size_t *allocated, size_t n, size_t elem, size_t first) {
        void **p = v;
        size_t na;
        void *t;

        if (n < *allocated)
                return 0;
        na = *allocated ? *allocated * 2 : first;
        if (na < *allocated || na > SIZE_MAX / elem)
                return -ENOMEM;
        t = realloc(*p, na * elem);
        if (!t)
                return -ENOMEM;
        *p = t;
        *allocated = na;
        return 0;
}
