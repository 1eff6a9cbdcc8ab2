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

/* A systemd credential ID (it names a file in $CREDENTIALS_DIRECTORY and in
 * the credstores): 1 to CREDENTIAL_ID_MAX of [A-Za-z0-9._-], not starting
 * with '.' or '-'. */
bool credential_id_is_valid(const char *s);

/* A bare image name (looked up in the image directories): 1 to
 * IMAGE_NAME_MAX of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool image_name_is_valid(const char *s);

/* The one directory host files may be secrets from: SECRETS_DIR_DEFAULT, or
 * $AGENTCAGE_SECRETS_DIR when that is a normalised absolute path (tests). */
#define SECRETS_DIR_DEFAULT "/etc/agents/secrets"
const char *secrets_dir(void);

/* Whether credential id belongs to agent: id is the agent's name, or the
 * name, a '.' and more ("web" owns web and web.token, not webx). */
bool credential_is_own(const char *agent, const char *id);

/* The syntax and location rule of a [Secrets] source of agent (ownership,
 * mode and link count of a file are checked at start, by the runtime):
 *   "cred:ID"  ID valid and the agent's own (credential_is_own());
 *   "/PATH"    normalised, strictly below secrets_dir().
 * Returns 0, or with *ret_rule set to a sentence naming the rule:
 *   -EINVAL  malformed (not a path nor cred:, bad ID, not normalised)
 *   -EPERM   a host file outside the secrets directory
 *   -EACCES  another agent's credential: allowed only if the site shares it
 *            (see credential-shares.h). */
int secret_source_check(const char *agent, const char *source, const char **ret_rule);

/* Name of an environment variable: [A-Za-z_][A-Za-z0-9_]*, at most 128 bytes. */
bool env_name_is_valid(const char *s);

/* Absolute, normalised path: starts with '/', no "//", no "." or ".."
 * components, no trailing '/' (except "/" itself), at most PATH_MAX bytes,
 * printable ASCII/UTF-8 without control characters. */
bool path_is_normalized_absolute(const char *s);

/* True if s is valid UTF-8 and contains no control characters (tab excluded
 * only when allow_tab). */
bool string_is_printable_utf8(const char *s, bool allow_tab);

/* Length in bytes (1-4) of the printable UTF-8 character s starts with, or 0
 * if s starts with NUL, a control character (tab allowed only when
 * allow_tab) or a byte that is not valid UTF-8. */
size_t utf8_printable_char_len(const char *s, bool allow_tab);

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

/* Writes the concatenation of the NULL-terminated list parts into buf (of
 * size bytes, NUL included). Returns the length, or -ENAMETOOLONG (buf then
 * holds nothing useful). For names and paths on hot paths: no printf. */
int strjoin_buf(char *buf, size_t size, const char *const *parts);
#define STRJOIN_BUF(buf, size, ...) strjoin_buf((buf), (size), (const char *const[]) { __VA_ARGS__, NULL })
