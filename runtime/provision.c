/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "log.h"
#include "runtime.h"

int verb_provision(int argc, char *argv[]) {
        return log_error_errno(-EOPNOTSUPP, "agent-runtime provision: not implemented yet.");
}
