/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Built only while seccomp/ does not provide agentcage_seccomp_dep yet (see
 * meson.build here): every call fails, so configure refuses to start an
 * agent rather than start it without its filter. */

#include <errno.h>

#include "policy.h"

int seccomp_policy_check_extra(const char *name, const char **ret_reason) {
        if (ret_reason)
                *ret_reason = "the seccomp policy is not built into this agent-runtime";
        return -EOPNOTSUPP;
}

int seccomp_policy_write_bpf(char *const *extra, size_t n_extra, int fd) {
        return -EOPNOTSUPP;
}
