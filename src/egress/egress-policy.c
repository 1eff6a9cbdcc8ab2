/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "egress-policy.h"
#include "macro.h"
#include "parse-value.h"

#define WHY(...) (void) snprintf(why, why_size, __VA_ARGS__)

int egress_host_check(const char *host) {
        size_t n = strlen(host), label = 0;
        bool label_digits = true;

        if (n == 0 || n > EGRESS_HOST_MAX)
                return -EINVAL;
        if (strchr(host, ':') || host[0] == '[')
                return -EADDRNOTAVAIL; /* IPv6 literal */
        for (size_t i = 0; i <= n; i++) {
                char c = host[i];

                if (c == '.' || c == '\0') {
                        if (label == 0 || label > 63 || host[i - 1] == '-')
                                return -EINVAL;
                        if (c == '\0' && label_digits)
                                return -EADDRNOTAVAIL; /* 10.0.0.1, 2130706433 */
                        label = 0;
                        label_digits = true;
                        continue;
                }
                if (!isalnum((unsigned char) c) && c != '-')
                        return -EINVAL;
                if (label == 0 && c == '-')
                        return -EINVAL;
                if (!isdigit((unsigned char) c))
                        label_digits = false;
                label++;
        }
        /* "0x7f.1" is a number to inet_aton(); a hex last label is refused too. */
        const char *last = strrchr(host, '.');
        last = last ? last + 1 : host;
        if (last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
                return -EADDRNOTAVAIL;
        return 0;
}

int egress_pattern_parse(const char *s, EgressPattern *ret, char *why, size_t why_size) {
        EgressPattern p = { .port = EGRESS_DEFAULT_PORT };
        const char *colon = strrchr(s, ':'), *host = s;
        size_t n;
        int r;

        if (streq(s, "*") || strncmp(s, "*:", 2) == 0) {
                WHY("a bare '*' would allow every host");
                return -EINVAL;
        }
        if (s[0] == '[' || (colon && strchr(s, ':') != colon)) {
                WHY("IP literals are not allowed, only host names");
                return -EADDRNOTAVAIL;
        }
        if (colon) {
                uint64_t port;
                if (parse_uint64_range(colon + 1, 1, 65535, &port) < 0) {
                        WHY("the port must be a number from 1 to 65535");
                        return -ERANGE;
                }
                p.port = (uint16_t) port;
                n = (size_t) (colon - s);
        } else
                n = strlen(s);
        if (strncmp(host, "*.", 2) == 0) {
                p.wildcard = true;
                host += 2;
                n -= 2;
        }
        if (n == 0 || n > EGRESS_HOST_MAX) {
                WHY("the host name is empty or longer than %d bytes", EGRESS_HOST_MAX);
                return -EINVAL;
        }
        for (size_t i = 0; i < n; i++)
                p.host[i] = (char) tolower((unsigned char) host[i]);
        r = egress_host_check(p.host);
        if (r == -EADDRNOTAVAIL) {
                WHY("IP literals are not allowed, only host names");
                return r;
        }
        if (r < 0) {
                WHY("not a host name (letters, digits, '-' in dot-separated labels; '*.' only in front)");
                return r;
        }
        if (p.wildcard && !strchr(p.host, '.')) {
                WHY("'*.%s' would allow a whole top-level domain", p.host);
                return -EINVAL;
        }
        *ret = p;
        return 0;
}

void egress_pattern_format(const EgressPattern *p, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s%s:%u", p->wildcard ? "*." : "", p->host, (unsigned) p->port);
}

bool egress_pattern_match(const EgressPattern *p, const char *host, uint16_t port) {
        size_t n = strlen(host), m = strlen(p->host);

        if (port != p->port)
                return false;
        if (!p->wildcard)
                return strcasecmp(host, p->host) == 0;
        /* any subdomain: "a.example.com", "b.a.example.com", not "example.com"
         * and not "badexample.com" */
        return n > m + 1 && host[n - m - 1] == '.' && strcasecmp(host + n - m, p->host) == 0;
}

int egress_methods_from_string(const char *s, EgressMethods *ret) {
        if (streq(s, "all"))
                *ret = EGRESS_METHODS_ALL;
        else if (streq(s, "read-only"))
                *ret = EGRESS_METHODS_READ_ONLY;
        else
                return -EINVAL;
        return 0;
}

const char *egress_methods_to_string(EgressMethods m) {
        return m == EGRESS_METHODS_READ_ONLY ? "read-only" : "all";
}

bool egress_method_is_read_only(const char *method) {
        return streq(method, "GET") || streq(method, "HEAD") || streq(method, "OPTIONS");
}

bool egress_policy_judge(const EgressPolicy *p, const char *host, uint16_t port, const char *method,
                         bool is_connect, char *rule, size_t rule_size) {
        char pat[EGRESS_HOST_MAX + 16];

        for (size_t i = 0; i < p->n_deny; i++)
                if (egress_pattern_match(&p->deny[i], host, port)) {
                        egress_pattern_format(&p->deny[i], pat, sizeof pat);
                        (void) snprintf(rule, rule_size, "Deny=%s", pat);
                        return false;
                }
        for (size_t i = 0; i < p->n_allow; i++) {
                if (!egress_pattern_match(&p->allow[i], host, port))
                        continue;
                if (!is_connect && p->methods == EGRESS_METHODS_READ_ONLY && !egress_method_is_read_only(method)) {
                        (void) snprintf(rule, rule_size, "Methods=read-only");
                        return false;
                }
                egress_pattern_format(&p->allow[i], pat, sizeof pat);
                (void) snprintf(rule, rule_size, "Allow=%s", pat);
                return true;
        }
        (void) snprintf(rule, rule_size, "Allow= (no pattern matches %s:%u)", host, (unsigned) port);
        return false;
}

static int policy_add(EgressPattern *v, size_t *n, const char *s, char *why, size_t why_size) {
        if (*n >= EGRESS_PATTERNS_MAX) {
                WHY("more than %d patterns", EGRESS_PATTERNS_MAX);
                return -E2BIG;
        }
        return egress_pattern_parse(s, &v[(*n)++], why, why_size);
}

int egress_policy_parse_text(const char *text, EgressPolicy *ret, char *why, size_t why_size) {
        EgressPolicy p = {};
        unsigned lineno = 0;
        bool have_methods = false;

        for (const char *line = text; *line; ) {
                const char *end = strchrnul(line, '\n');
                char buf[512];
                size_t len = (size_t) (end - line);
                int r = 0;

                lineno++;
                if (len >= sizeof buf) {
                        WHY("line %u is too long", lineno);
                        return -EINVAL;
                }
                memcpy(buf, line, len);
                buf[len] = '\0';
                line = *end ? end + 1 : end;

                if (buf[0] == '#' || buf[0] == '\0')
                        continue;
                if (strncmp(buf, "allow ", 6) == 0)
                        r = policy_add(p.allow, &p.n_allow, buf + 6, why, why_size);
                else if (strncmp(buf, "deny ", 5) == 0)
                        r = policy_add(p.deny, &p.n_deny, buf + 5, why, why_size);
                else if (strncmp(buf, "methods ", 8) == 0 && !have_methods) {
                        have_methods = true;
                        r = egress_methods_from_string(buf + 8, &p.methods);
                        if (r < 0)
                                WHY("unknown methods '%.32s'", buf + 8);
                } else {
                        WHY("line %u is not understood", lineno);
                        return -EINVAL;
                }
                if (r < 0)
                        return r;
        }
        *ret = p;
        return 0;
}

int egress_policy_load(const char *path, EgressPolicy *ret, char *why, size_t why_size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        char text[64 * 1024];
        size_t len = 0;

        if (fd < 0) {
                WHY("cannot open %s: %m", path);
                return negative_errno();
        }
        for (;;) {
                ssize_t k = read(fd, text + len, sizeof text - 1 - len);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return negative_errno();
                if (k == 0)
                        break;
                len += (size_t) k;
                if (len == sizeof text - 1) {
                        WHY("%s is larger than %zu bytes", path, sizeof text - 1);
                        return -EFBIG;
                }
        }
        text[len] = '\0';
        if (memchr(text, '\0', len)) {
                WHY("%s contains a NUL byte", path);
                return -EINVAL;
        }
        return egress_policy_parse_text(text, ret, why, why_size);
}
