/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* Writing generator output. A file appears whole or not at all: it is written
 * into an unnamed O_TMPFILE (or a hidden temporary name where the file system
 * cannot do that) and linked into place, which fails rather than replace an
 * existing file. */

/* Writes data to dir_fd/name. -EEXIST if name exists already. */
int emit_file_at(int dir_fd, const char *name, const char *data, size_t len);

/* Creates dir_fd/wants_dir (if needed) and the symlink wants_dir/unit ->
 * ../unit. */
int emit_wants_symlink_at(int dir_fd, const char *wants_dir, const char *unit);
