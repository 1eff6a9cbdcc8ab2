/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* agentctl images [--json] | images --prune | pull NAME: the read-only image
 * cache of Image= references (src/runtime/image/oci.h). */

#include "ctl.h"

/* --json and --prune (c->json, c->prune) are set by main.c; only `images`
 * accepts --prune. Both return 0 or a negative errno, mapped by main.c. */
int verb_images(Ctl *c, char **args);
int verb_pull(Ctl *c, char **args);
