/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Creates directory path with mode. Returns 1 if it was created, 0 if a
 * directory was there already, -ENOTDIR if something else (a symlink
 * included: it could move what is put there somewhere else), or -errno. */
int mkdir_no_symlink(const char *path, mode_t mode);
