/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* Strict parsers, one per value type of an agent definition. Each takes the
 * whole value (no leading/trailing garbage is tolerated), returns 0 or a
 * negative errno, and writes its result only on success:
 *   -EINVAL  malformed
 *   -ERANGE  well-formed but outside the limits
 * None of them accepts an empty string: an empty value means "reset to the
 * default" and is handled before a parser is called. */

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MINUTE)
#define USEC_PER_DAY (UINT64_C(24) * USEC_PER_HOUR)

int parse_boolean(const char *s, bool *ret);

/* Unsigned decimal integer without sign, spaces or leading zeros ("0" alone is
 * fine), within [min, max]. */
int parse_uint64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* A systemd time span: one or more "NUMBER[UNIT]" terms, optionally separated by
 * spaces ("90s", "5min", "1h 30min"); a bare number is seconds. Units: us,
 * ms, s, sec, m, min, h, hr, d, day(s), w. "infinity" is refused. */
int parse_timespan(const char *s, uint64_t *ret_usec);

/* A size with an optional binary suffix K, M, G, T (base 1024), e.g. "512M". */
int parse_size(const char *s, uint64_t *ret_bytes);

/* "N%" with N a positive integer. */
int parse_percent(const char *s, uint64_t *ret);

/* Machine/host name of an agent: [a-z0-9] followed by up to 62 of [a-z0-9-],
 * not ending in '-'. */
bool agent_name_is_valid(const char *s);

/* Name of a secret: [a-z0-9] followed by up to 63 of [a-z0-9._-]. */
bool secret_name_is_valid(const char *s);

/* Name of an environment variable: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes. */
bool env_name_is_valid(const char *s);

/* Absolute, normalised path: starts with '/', no "//", no "." or ".."
 * components, no trailing '/' (except "/" itself), at most PATH_MAX bytes,
 * printable ASCII/UTF-8 without control characters. */
bool path_is_normalized_absolute(const char *s);

/* True if s is valid UTF-8 and contains no control characters (tab excluded
 * only when allow_tab). */
bool string_is_printable_utf8(const char *s, bool allow_tab);

/* Splits a command line into words: whitespace separates, single and double
 * quotes group, backslash escapes (\\ \" \' \n \t \xNN and "\ ") work inside
 * and outside double quotes, nothing is expanded. Unbalanced quotes, a
 * trailing backslash, an unknown escape, \x00, or more than max_words words
 * are -EINVAL/-E2BIG. *ret is a NULL-terminated, malloc'ed vector. */
int split_words(const char *s, size_t max_words, char ***ret, size_t *ret_n);

void strv_free(char **v);
static inline void strv_freep(char ***v) {
        strv_free(*v);
}
#define _cleanup_strv_free_ __attribute__((cleanup(strv_freep)))
size_t strv_length(char *const *v);
