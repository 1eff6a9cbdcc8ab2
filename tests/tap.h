/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A minimal TAP producer for C tests (meson runs them with protocol: 'tap').
 * Each check prints one "ok"/"not ok" line with the expression and where it
 * failed; tap_finish() prints the plan and returns the exit status. */

#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int tap_check(int cond, const char *what, const char *file, int line) {
        tap_n++;
        if (cond)
                printf("ok %d - %s\n", tap_n, what);
        else {
                tap_failed++;
                printf("not ok %d - %s\n#   at %s:%d\n", tap_n, what, file, line);
        }
        fflush(stdout);
        return cond;
}

#define CHECK(cond) tap_check(!!(cond), #cond, __FILE__, __LINE__)
#define CHECK_MSG(cond, ...)                                                  \
        ({                                                                    \
                char _m_[512];                                                \
                snprintf(_m_, sizeof _m_, __VA_ARGS__);                       \
                tap_check(!!(cond), _m_, __FILE__, __LINE__);                 \
        })
#define CHECK_STREQ(a, b)                                                     \
        ({                                                                    \
                const char *_a_ = (a), *_b_ = (b);                            \
                int _ok_ = _a_ && _b_ && strcmp(_a_, _b_) == 0;               \
                if (!_ok_)                                                    \
                        printf("#   got '%s', expected '%s'\n", _a_ ? _a_ : "(null)", _b_ ? _b_ : "(null)"); \
                tap_check(_ok_, #a " == " #b, __FILE__, __LINE__);            \
        })

static inline int tap_finish(void) {
        printf("1..%d\n", tap_n);
        return tap_failed > 0 || tap_n == 0 ? 1 : 0;
}
