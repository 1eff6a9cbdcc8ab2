/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agentctl's --json output, written with json-c. What reaches a JSON string is
 * untrusted (agent names are checked, but task texts, journal lines, file
 * contents and paths are not): json-c escapes quotes, backslashes and control
 * bytes, and json_set_str() replaces bytes that are not valid UTF-8 with
 * U+FFFD first, so the output always parses.
 *
 * The setters return 0 or -ENOMEM and chain with ?: —
 *         r = json_set_str(o, "name", n) ?: json_set_u64(o, "size_bytes", s);
 * A NULL string and CTL_UNSET are written as null. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "macro.h"

static inline void json_object_putp(struct json_object **o) {
        if (*o)
                (void) json_object_put(*o);
        *o = NULL;
}
#define _cleanup_json_ _cleanup_(json_object_putp)

/* A copy of s in which every byte that does not start a valid UTF-8 sequence
 * (overlong forms and surrogates included) is U+FFFD. NULL on ENOMEM. */
char *utf8_sanitize(const char *s);

/* New values; *ret is NULL for null. -ENOMEM. */
int json_new_str(const char *s, struct json_object **ret);
int json_new_u64(uint64_t v, struct json_object **ret);

/* o[key] = value; json_set() takes v (NULL: null) even on failure. */
int json_set(struct json_object *o, const char *key, struct json_object *v);
int json_set_str(struct json_object *o, const char *key, const char *s);
int json_set_u64(struct json_object *o, const char *key, uint64_t v);
int json_set_bool(struct json_object *o, const char *key, bool b);
/* o[key] = [strings...] (NULL vector: []). */
int json_set_strv(struct json_object *o, const char *key, char *const *v, size_t n);
/* Appends v to the array a, taking it even on failure. */
int json_append(struct json_object *a, struct json_object *v);

/* New empty object or array, -ENOMEM. */
int json_new_object(struct json_object **ret);
int json_new_array(struct json_object **ret);

/* Writes o and a newline to f. -EIO if that fails. */
int json_print(FILE *f, struct json_object *o);
