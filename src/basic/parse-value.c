/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent-limits.h"
#include "macro.h"
#include "parse-value.h"

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        return -EINVAL;
}

/* Reads the leading digits of *p as an unsigned number, advancing *p. Refuses
 * no digits, leading zeros ("007") and overflow. */
static int read_digits(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        if (s[0] == '0' && isdigit((unsigned char) s[1]))
                return -EINVAL;
        for (; isdigit((unsigned char) *s); s++) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *p = s;
        *ret = v;
        return 0;
}

int parse_uint64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v;
        int r;

        r = read_digits(&s, &v);
        if (r < 0)
                return r;
        if (*s != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_timespan(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } units[] = {
                /* Longest first, so "min" wins over "m" and "ms" over "m". */
                { "usec", 1 },
                { "msec", 1000 },
                { "seconds", USEC_PER_SEC },
                { "second", USEC_PER_SEC },
                { "minutes", USEC_PER_MINUTE },
                { "minute", USEC_PER_MINUTE },
                { "hours", USEC_PER_HOUR },
                { "hour", USEC_PER_HOUR },
                { "days", USEC_PER_DAY },
                { "day", USEC_PER_DAY },
                { "weeks", 7 * USEC_PER_DAY },
                { "week", 7 * USEC_PER_DAY },
                { "sec", USEC_PER_SEC },
                { "min", USEC_PER_MINUTE },
                { "hr", USEC_PER_HOUR },
                { "us", 1 },
                { "ms", 1000 },
                { "s", USEC_PER_SEC },
                { "m", USEC_PER_MINUTE },
                { "h", USEC_PER_HOUR },
                { "d", USEC_PER_DAY },
                { "w", 7 * USEC_PER_DAY },
        };
        uint64_t total = 0;
        bool any = false;

        for (;;) {
                uint64_t n, mult = USEC_PER_SEC;
                int r;

                while (*s == ' ')
                        s++;
                if (*s == '\0')
                        break;

                r = read_digits(&s, &n);
                if (r < 0)
                        return r;

                if (isalpha((unsigned char) *s)) {
                        size_t len = 0;
                        bool found = false;

                        while (isalpha((unsigned char) s[len]))
                                len++;
                        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                                if (strlen(units[i].suffix) == len && strncmp(s, units[i].suffix, len) == 0) {
                                        mult = units[i].usec;
                                        found = true;
                                        break;
                                }
                        if (!found)
                                return -EINVAL;
                        s += len;
                }
                /* Terms must be separated: "5min30s" is fine in systemd, but
                 * "5 30" (two bare numbers) is not meaningful; keep systemd's
                 * grammar: the next term may follow directly or after spaces. */
                if (*s != '\0' && *s != ' ' && !isdigit((unsigned char) *s))
                        return -EINVAL;

                if (n > UINT64_MAX / mult || total > UINT64_MAX - n * mult)
                        return -ERANGE;
                total += n * mult;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret_usec = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes) {
        uint64_t n, mult = 1;
        int r;

        r = read_digits(&s, &n);
        if (r < 0)
                return r;

        switch (*s) {
        case '\0':
                break;
        case 'K': mult = UINT64_C(1) << 10; s++; break;
        case 'M': mult = UINT64_C(1) << 20; s++; break;
        case 'G': mult = UINT64_C(1) << 30; s++; break;
        case 'T': mult = UINT64_C(1) << 40; s++; break;
        default:
                return -EINVAL;
        }
        if (*s != '\0')
                return -EINVAL;
        if (n > UINT64_MAX / mult)
                return -ERANGE;
        *ret_bytes = n * mult;
        return 0;
}

int parse_percent(const char *s, uint64_t *ret) {
        uint64_t n;
        int r;

        r = read_digits(&s, &n);
        if (r < 0)
                return r;
        if (strcmp(s, "%") != 0)
                return -EINVAL;
        *ret = n;
        return 0;
}

static bool is_lower_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool agent_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > AGENT_NAME_MAX || !is_lower_alnum(s[0]) || s[n - 1] == '-')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool secret_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > SECRET_NAME_MAX || !is_lower_alnum(s[0]))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_lower_alnum(s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

/* [A-Za-z0-9._-]{1,max}, not starting with '.' or '-': a file name that is
 * neither hidden, nor "..", nor read as an option. */
static bool simple_name_is_valid(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n < 1 || n > max || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

bool credential_id_is_valid(const char *s) {
        return simple_name_is_valid(s, CREDENTIAL_ID_MAX);
}

bool image_name_is_valid(const char *s) {
        return simple_name_is_valid(s, IMAGE_NAME_MAX);
}

const char *secrets_dir(void) {
        const char *e = getenv("AGENTCAGE_SECRETS_DIR");

        return e && path_is_normalized_absolute(e) && !streq(e, "/") ? e : SECRETS_DIR_DEFAULT;
}

bool credential_is_own(const char *agent, const char *id) {
        size_t n = strlen(agent);

        return strncmp(id, agent, n) == 0 && (id[n] == '\0' || (id[n] == '.' && id[n + 1] != '\0'));
}

int secret_source_check(const char *agent, const char *source, const char **ret_rule) {
        const char *dir = secrets_dir(), *rule = NULL;
        size_t n = strlen(dir);
        int r = 0;

        if (strncmp(source, "cred:", 5) == 0) {
                if (!credential_id_is_valid(source + 5)) {
                        rule = "a credential ID is 1 to 255 of letters, digits, '.', '_', '-', "
                               "not starting with '.' or '-'";
                        r = -EINVAL;
                } else if (!agent_name_is_valid(agent) || !credential_is_own(agent, source + 5)) {
                        rule = "an agent names only its own credentials (cred:NAME or cred:NAME.SUFFIX) "
                               "unless the site shares the credential with it";
                        r = -EACCES;
                }
        } else if (source[0] != '/') {
                rule = "a secret source is a file below the secrets directory or cred:ID";
                r = -EINVAL;
        } else if (!path_is_normalized_absolute(source)) {
                rule = "a secret file is a normalised absolute path (no '.', '..', '//' or trailing '/')";
                r = -EINVAL;
        } else if (strncmp(source, dir, n) != 0 || source[n] != '/' || source[n + 1] == '\0') {
                rule = "secret files come only from below the secrets directory";
                r = -EPERM;
        }
        if (ret_rule)
                *ret_rule = rule;
        return r;
}

bool env_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n < 1 || n > 128 || isdigit((unsigned char) s[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && s[i] != '_')
                        return false;
        return true;
}

size_t utf8_printable_char_len(const char *s, bool allow_tab) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned c = *p, need;
        uint32_t cp;

        if (c < 0x80)
                return c == 0 || (c < 0x20 && !(allow_tab && c == '\t')) || c == 0x7f ? 0 : 1;
        if (c >= 0xc2 && c <= 0xdf) {
                need = 1;
                cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                cp = c & 0x07;
        } else
                return 0;
        for (unsigned i = 1; i <= need; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Overlong forms, surrogates, beyond U+10FFFF, C1 controls. */
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff || (cp >= 0x80 && cp < 0xa0))
                return 0;
        return need + 1;
}

bool string_is_printable_utf8(const char *s, bool allow_tab) {
        while (*s) {
                size_t n;

                /* Printable ASCII, most of any text: no decoding needed. */
                while ((unsigned char) *s >= 0x20 && (unsigned char) *s < 0x7f)
                        s++;
                if (!*s)
                        break;
                n = utf8_printable_char_len(s, allow_tab);
                if (n == 0)
                        return false;
                s += n;
        }
        return true;
}

bool path_is_normalized_absolute(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || s[0] != '/' || n >= PATH_MAX)
                return false;
        if (!string_is_printable_utf8(s, false))
                return false;
        if (n == 1)
                return true;
        if (s[n - 1] == '/')
                return false;

        for (const char *p = s; *p;) {
                const char *e;
                size_t len;

                p++; /* skip '/' */
                e = strchrnul(p, '/');
                len = (size_t) (e - p);
                if (len == 0)
                        return false; /* "//" */
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                p = e;
        }
        return true;
}

void strv_free(char **v) {
        if (!v)
                return;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
}

size_t strv_length(char *const *v) {
        size_t n = 0;

        if (v)
                while (v[n])
                        n++;
        return n;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int split_words(const char *s, size_t max_words, char ***ret, size_t *ret_n) {
        _cleanup_strv_free_ char **v = NULL;
        _cleanup_free_ char *word = NULL;
        size_t n = 0, len = strlen(s);

        /* One word can never be longer than the input, so a single buffer of
         * that size is enough and no bound check is needed while copying;
         * words need a separator, so there are at most len / 2 + 1. */
        v = calloc(MIN(max_words, len / 2 + 1) + 1, sizeof(char *));
        word = malloc(len + 1);
        if (!v || !word)
                return -ENOMEM;

        const char *p = s;
        for (;;) {
                size_t w = 0;
                char quote = 0;
                bool have = false;

                while (*p == ' ' || *p == '\t')
                        p++;
                if (*p == '\0')
                        break;

                for (; *p; p++) {
                        char c = *p;

                        if (!quote && (c == ' ' || c == '\t'))
                                break;
                        if (quote == '\'') {
                                /* Single quotes: everything literal up to the next one. */
                                if (c == '\'')
                                        quote = 0;
                                else
                                        word[w++] = c;
                                continue;
                        }
                        if (c == '\\') {
                                char e = *++p;
                                int h, l;

                                switch (e) {
                                case '\\': case '"': case '\'': case ' ':
                                        word[w++] = e;
                                        break;
                                case 'n': word[w++] = '\n'; break;
                                case 't': word[w++] = '\t'; break;
                                case 'x':
                                        h = unhex(p[1]);
                                        l = h >= 0 ? unhex(p[2]) : -1;
                                        if (h < 0 || l < 0 || (h == 0 && l == 0))
                                                return -EINVAL;
                                        word[w++] = (char) (h * 16 + l);
                                        p += 2;
                                        break;
                                default: /* includes the trailing-backslash case e == '\0' */
                                        return -EINVAL;
                                }
                                have = true;
                                continue;
                        }
                        if (quote == '"' && c == '"') {
                                quote = 0;
                                continue;
                        }
                        if (!quote && (c == '"' || c == '\'')) {
                                quote = c;
                                have = true;
                                continue;
                        }
                        word[w++] = c;
                        have = true;
                }
                if (quote)
                        return -EINVAL;
                if (!have)
                        continue;
                if (n >= max_words)
                        return -E2BIG;
                word[w] = '\0';
                v[n] = strdup(word);
                if (!v[n])
                        return -ENOMEM;
                n++;
        }

        if (n == 0)
                return -EINVAL;
        if (ret_n)
                *ret_n = n;
        *ret = TAKE_PTR(v);
        return 0;
}

int strjoin_buf(char *buf, size_t size, const char *const *parts) {
        size_t len = 0;

        for (; *parts; parts++) {
                size_t n = strlen(*parts);
                if (n >= size - len)
                        return -ENAMETOOLONG;
                memcpy(buf + len, *parts, n);
                len += n;
        }
        if (len >= size)
                return -ENAMETOOLONG;
        buf[len] = '\0';
        return (int) len;
}
