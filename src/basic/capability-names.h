/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* The one capability table: every capability name systemd-nspawn and the
 * schema know, in kernel order. The schema checks Capabilities= against it,
 * the runtime derives nspawn's --drop-capability= list from it. */
extern const char *const capability_names[];
extern const size_t n_capability_names;
