/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agentctl images [--json] | images --prune | pull NAME: the read-only image
 * cache of Image= references (src/runtime/image/oci.h). Exit statuses are
 * agentctl's. */

#include <stdbool.h>

struct Ctl;

/* agentctl.c's --json. */
extern bool arg_json;
/* Set by --prune (agentctl.c); only `images` accepts it. */
extern bool arg_images_prune;

int verb_images(struct Ctl *c, char **args);
int verb_pull(struct Ctl *c, char **args);
