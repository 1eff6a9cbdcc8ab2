/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Inside src/seccomp only: the policy table (policy.c) expanded into concrete
 * libseccomp rules, for the writers (policy-write.c). Nothing outside this
 * folder includes it; the public face is policy.h. */

#include <seccomp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

/* One concrete libseccomp rule. */
typedef struct PolicyRule {
        const char *name;
        int nr;
        uint32_t action;
        unsigned n_cmp;
        struct scmp_arg_cmp cmp[3];
} PolicyRule;

typedef int (*policy_rule_func_t)(const PolicyRule *rule, void *userdata);

/* Calls f for every rule of the policy on the native architecture: the
 * allow-list, then the never-allowed entries that return something other than
 * the default EPERM. Entries for syscalls this architecture lacks are skipped;
 * a name libseccomp does not know at all is a bug in the tables (-EINVAL).
 * Stops at (and returns) the first negative return of f. */
int policy_foreach_rule(SeccompPolicyFlags flags, policy_rule_func_t f, void *userdata);

/* Whether NAME (or an alias with the same number) is on the allow-list,
 * filtered or not. */
bool policy_is_allowed(const char *name);

/* For allow-list entry i (as seccomp_policy_allowed_name() counts): why its
 * argument filter exists, or NULL for an unconditional entry. */
const char *policy_allowed_filter_reason(size_t i);
