/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "report.h"

/* Credentials the site shares between agents.
 *
 * An agent names only its own credentials (cred:NAME, cred:NAME.SUFFIX; see
 * secret_source_check()). Any other credential needs a line in the site file
 * CREDENTIAL_SHARES_PATH ($AGENTCAGE_CREDENTIAL_SHARES for tests), read with
 * the strict INI parser of the definitions:
 *
 *     [Shared]
 *     ID=AGENT [AGENT…]
 *
 * ID is a credential ID starting with a letter (an INI key), each AGENT an
 * agent name. Nothing else is accepted: another section, a malformed ID or
 * agent name, or a file that root does not own or that group or others can
 * write make the whole file an error (reported once), and then nothing is
 * shared. No file: nothing is shared. */

#define CREDENTIAL_SHARES_PATH "/etc/agentcage/credentials.conf"

/* CREDENTIAL_SHARES_PATH, or $AGENTCAGE_CREDENTIAL_SHARES if absolute. */
const char *credential_shares_path(void);

/* 1 if the site shares credential id with agent, 0 if not, a negative errno
 * (reported to r, once per process) if the site file is invalid. */
int credential_is_shared(const char *id, const char *agent, Report *r);
