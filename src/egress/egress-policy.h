/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The egress policy of one agent: host patterns with ports, Deny= before
 * Allow=, and the method rule. The one validator of a pattern: the schema
 * (src/definition) calls egress_pattern_parse() on Allow=/Deny=, the proxy
 * calls it again on the compiled policy file it reads. */

#define EGRESS_HOST_MAX 253
#define EGRESS_PATTERNS_MAX 64
#define EGRESS_DEFAULT_PORT 443

typedef enum EgressMethods {
        EGRESS_METHODS_ALL,
        EGRESS_METHODS_READ_ONLY,
} EgressMethods;

typedef struct EgressPattern {
        char host[EGRESS_HOST_MAX + 1]; /* lower case; without the "*." of a wildcard */
        bool wildcard;                  /* "*.host": any subdomain of host, not host itself */
        uint16_t port;
} EgressPattern;

typedef struct EgressPolicy {
        EgressPattern allow[EGRESS_PATTERNS_MAX];
        size_t n_allow;
        EgressPattern deny[EGRESS_PATTERNS_MAX];
        size_t n_deny;
        EgressMethods methods;
} EgressPolicy;

/* Checks a host name as the agent asked for it: letters, digits, '-', labels
 * of 1..63, at most 253 bytes, no trailing dot, and not an IP literal (the
 * last label is not all digits, no ':'). Returns 0, -EADDRNOTAVAIL for an IP
 * literal, -EINVAL otherwise. Case-insensitive. */
int egress_host_check(const char *host);

/* Parses "host", "*.host", "host:PORT" (default port 443). Writes a reason
 * into why on failure (-EINVAL, -ERANGE for the port, -EADDRNOTAVAIL for an
 * IP literal). */
int egress_pattern_parse(const char *s, EgressPattern *ret, char *why, size_t why_size);

/* "host:port" or "*.host:port", for messages and the policy file. */
void egress_pattern_format(const EgressPattern *p, char *buf, size_t size);

bool egress_pattern_match(const EgressPattern *p, const char *host, uint16_t port);

int egress_methods_from_string(const char *s, EgressMethods *ret);
const char *egress_methods_to_string(EgressMethods m);

/* True for the methods Methods=read-only lets through in plain HTTP. */
bool egress_method_is_read_only(const char *method);

/* The verdict on one request, before any name is resolved. rule (of at least
 * EGRESS_RULE_MAX bytes) names what decided: "Deny=*.example.com:443",
 * "Allow=api.example.com:443", "Allow= (no pattern matches)",
 * "Methods=read-only". Returns true if allowed. */
#define EGRESS_RULE_MAX 320
bool egress_policy_judge(const EgressPolicy *p, const char *host, uint16_t port, const char *method,
                         bool is_connect, char *rule, size_t rule_size);

/* The compiled policy file the generator writes and the proxy reads:
 *         # comment
 *         methods all|read-only
 *         allow PATTERN
 *         deny PATTERN
 * Every line is checked with the same validators as the definition. */
int egress_policy_parse_text(const char *text, EgressPolicy *ret, char *why, size_t why_size);
int egress_policy_load(const char *path, EgressPolicy *ret, char *why, size_t why_size);
