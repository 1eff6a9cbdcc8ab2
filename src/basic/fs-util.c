/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"

int mkdir_no_symlink(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) >= 0)
                return 1;
        if (errno != EEXIST)
                return negative_errno();
        if (lstat(path, &st) < 0)
                return negative_errno();
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        return 0;
}
