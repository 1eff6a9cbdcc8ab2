/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The floor the generator is measured against: the least any generator must
 * do for N agents. It reads every *.agent file of INPUT_DIR and writes, for
 * each, a file of UNIT_BYTES bytes plus one symlink into OUTPUT_DIR, with
 * plain open/read/write/close: no parsing, no validation, no rendering.
 * Every generator must write atomically (no partial file is ever visible),
 * so the floor does too, the cheapest way there is: the file is written
 * unnamed (O_TMPFILE) and linked into place, like the generator's.
 *
 *   bench-floor INPUT_DIR OUTPUT_DIR UNIT_BYTES */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        char in[65536], path[1024], target[1100];
        DIR *d;
        struct dirent *de;
        int in_fd, out_fd;
        size_t unit_bytes;
        char *unit;

        if (argc != 4)
                return 2;
        unit_bytes = strtoul(argv[3], NULL, 10);
        unit = malloc(unit_bytes);
        if (!unit)
                return 1;
        memset(unit, 'x', unit_bytes);

        in_fd = open(argv[1], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        out_fd = open(argv[2], O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (in_fd < 0 || out_fd < 0 || mkdirat(out_fd, "agents.target.wants", 0755) < 0)
                return 1;
        d = fdopendir(in_fd);
        if (!d)
                return 1;
        while ((de = readdir(d))) {
                size_t len = strlen(de->d_name);
                int fd;

                if (len < 7 || strcmp(de->d_name + len - 6, ".agent") != 0)
                        continue;
                fd = openat(in_fd, de->d_name, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || read(fd, in, sizeof in) < 0)
                        return 1;
                close(fd);
                snprintf(path, sizeof path, "agent@%.*s.service", (int) len - 6, de->d_name);
                fd = openat(out_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, unit, unit_bytes) != (ssize_t) unit_bytes)
                        return 1;
                if (linkat(fd, "", out_fd, path, AT_EMPTY_PATH) < 0) {
                        /* Without CAP_DAC_READ_SEARCH, as the generator does. */
                        snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
                        if (linkat(AT_FDCWD, target, out_fd, path, AT_SYMLINK_FOLLOW) < 0)
                                return 1;
                }
                if (close(fd) < 0)
                        return 1;
                snprintf(target, sizeof target, "../%s", path);
                snprintf(in, sizeof in, "agents.target.wants/%s", path);
                if (symlinkat(target, out_fd, in) < 0)
                        return 1;
        }
        closedir(d);
        free(unit);
        return 0;
}
